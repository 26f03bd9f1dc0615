// Configs as Claude Desktop, Cursor, Cline and VS Code write them load unchanged
// (test/fixtures/client-configs/, copied in the style of each client's documentation).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import { loadConfigFile } from '../../../src/config/load.js';
import { parseEnvFile } from '../../../src/config/env-file.js';

const fixtures = fileURLToPath(new URL('../../fixtures/client-configs/', import.meta.url));

describe('client configs load unchanged', () => {
  it('Claude Desktop (claude_desktop_config.json)', async () => {
    const config = await loadConfigFile(join(fixtures, 'claude_desktop_config.json'), {});
    expect(config.servers.map((server) => [server.id, server.target.type, server.disabled])).toEqual([
      ['filesystem', 'stdio', false],
      ['brave-search', 'stdio', false],
      ['sqlite', 'stdio', true],
    ]);
    expect(config.servers[1]?.target).toMatchObject({ env: { BRAVE_API_KEY: 'YOUR_API_KEY_HERE' } });
  });

  it('Cursor (~/.cursor/mcp.json): envFile relative to the config, env wins; ${env:VAR}; type http; description ignored', async () => {
    const config = await loadConfigFile(join(fixtures, 'cursor-mcp.json'), { COMPANY_API_TOKEN: 'tok' });
    expect(config.servers.map((server) => [server.id, server.target.type])).toEqual([
      ['github', 'stdio'],
      ['linear', 'sse'],
      ['company-api', 'streamable-http'],
    ]);
    expect(config.servers[0]?.target).toMatchObject({
      env: { GITHUB_PERSONAL_ACCESS_TOKEN: 'ghp_exampleexampleexample', GITHUB_TOOLSETS: 'repos,issues', GITHUB_HOST: 'https://github.com' },
    });
    expect(config.servers[2]?.target).toMatchObject({ headers: { Authorization: 'Bearer tok' } });
    expect(config.ignored).toEqual([{ path: 'mcpServers.company-api', server: 'company-api', keys: ['description'] }]);
  });

  it('Cline (cline_mcp_settings.json): autoApprove, alwaysAllow, disabled, timeout, streamableHttp', async () => {
    const config = await loadConfigFile(join(fixtures, 'cline_mcp_settings.json'), {});
    expect(config.servers.map((server) => [server.id, server.target.type, server.disabled, server.callTimeoutMs])).toEqual([
      ['brave-search', 'stdio', false, 120_000],
      ['context7', 'streamable-http', true, undefined],
    ]);
    expect(config.ignored?.map((entry) => entry.keys)).toEqual([['autoApprove'], ['alwaysAllow']]);
  });

  it('VS Code (.vscode/mcp.json): servers, inputs, ${workspaceFolder}/.env, gallery entries', async () => {
    const config = await loadConfigFile(join(fixtures, 'vscode/.vscode/mcp.json'), {});
    expect(config.servers.map((server) => [server.id, server.target.type])).toEqual([
      ['playwright', 'stdio'],
      ['fetch', 'stdio'],
      ['github', 'streamable-http'],
    ]);
    expect(config.servers[1]?.target).toMatchObject({ env: { FETCH_USER_AGENT: 'mcp-supervisor-test' } });
    expect(config.ignored).toEqual([
      { path: '', keys: ['inputs'] },
      { path: 'servers.github', server: 'github', keys: ['gallery', 'version'] },
    ]);
  });
});

describe('envFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcp-env-file-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a missing or malformed env file is a config error at the entry, by path', async () => {
    await writeFile(join(dir, 'bad.env'), 'GOOD=1\nnot an assignment\nQUOTED="open\n');
    await writeFile(
      join(dir, 'mcp.json'),
      JSON.stringify({ mcpServers: { gone: { command: 'x', envFile: 'missing.env' }, bad: { command: 'x', envFile: 'bad.env' } } }),
    );
    const error = await loadConfigFile(join(dir, 'mcp.json'), {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: 'mcpServers.gone.envFile', message: `cannot read env file ${join(dir, 'missing.env')}: ENOENT` },
      {
        path: 'mcpServers.bad.envFile',
        message: `${join(dir, 'bad.env')}:2: expected KEY=VALUE; ${join(dir, 'bad.env')}:3: unterminated quoted value of QUOTED`,
      },
    ]);
  });

  it('parses the dotenv format: comments, export, quotes, escapes, inline comments', () => {
    const { values, problems } = parseEnvFile(
      [
        '# a comment',
        '',
        'PLAIN=value',
        'SPACED = padded value  ',
        'export EXPORTED=yes',
        'SINGLE=\'kept # as ${IS}\'',
        'DOUBLE="line\\nbreak \\"quoted\\""',
        'INLINE=value # comment',
        'HASH=a#b',
        'EMPTY=',
        'EQUALS=a=b',
      ].join('\n'),
    );
    expect(problems).toEqual([]);
    expect(Object.fromEntries(values)).toEqual({
      PLAIN: 'value',
      SPACED: 'padded value',
      EXPORTED: 'yes',
      SINGLE: 'kept # as ${IS}',
      DOUBLE: 'line\nbreak "quoted"',
      INLINE: 'value',
      HASH: 'a#b',
      EMPTY: '',
      EQUALS: 'a=b',
    });
  });
});
