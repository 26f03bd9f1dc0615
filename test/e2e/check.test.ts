// `mcp-supervisor --check --config <file>`: validates and exits, like `nginx -t`, starting nothing.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllClis, spawnCli, startCli, waitUntil } from '../support/cli.js';

const fixtures = fileURLToPath(new URL('../fixtures/client-configs/', import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-check-'));
});
afterAll(async () => {
  killAllClis();
  await rm(dir, { recursive: true, force: true });
});

async function check(args: string[], env: Record<string, string> = {}) {
  const cli = spawnCli(args, env);
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

describe('--check', () => {
  it('a valid config: exit 0 with a one-line summary; ignored keys and warnings on stderr; nothing started', async () => {
    const marker = join(dir, 'spawned');
    const config = join(dir, 'valid.json');
    await writeFile(
      config,
      JSON.stringify({
        mcpServers: {
          // Would leave a marker file if anything started it.
          spy: { command: process.execPath, args: ['-e', `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x')`], autoApprove: [], timeout: 30 },
          off: { command: 'x', disabled: true },
        },
      }),
    );
    const { code, stdout, stderr } = await check(['--check', '--config', config, '--port', '1']);
    expect(code).toBe(0);
    expect(stdout).toBe(`mcp-supervisor: config ${config} is valid: 2 servers (1 disabled)\n`);
    expect(stderr).toContain('mcp-supervisor: mcpServers.spy: ignoring autoApprove\n');
    expect(stderr).toContain('mcp-supervisor: warning: mcpServers.spy.timeout: timeout is in milliseconds');
    expect(stderr).not.toContain('listening');
    expect(existsSync(marker)).toBe(false);
  });

  it('configs people already have pass (VS Code, with its ${workspaceFolder}/.env)', async () => {
    for (const file of ['claude_desktop_config.json', 'cline_mcp_settings.json', 'vscode/.vscode/mcp.json']) {
      const { code, stdout, stderr } = await check(['--check', '--config', join(fixtures, file)]);
      expect(code, `${file}: ${stderr}`).toBe(0);
      expect(stdout.trim().split('\n')).toHaveLength(1);
    }
  });

  it('an invalid config: exit 1 with every problem by path, nothing on stdout', async () => {
    const config = join(dir, 'invalid.json');
    await writeFile(
      config,
      JSON.stringify({
        supervisor: { maxConcurentReconnects: 2 },
        mcpServers: { typo: { comand: 'npx' }, secret: { command: 'x', env: { KEY: '${CHECK_TEST_UNSET_VARIABLE}' } }, '..': { command: 'x' } },
      }),
    );
    const { code, stdout, stderr } = await check(['--check', '--config', config]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(`mcp-supervisor: invalid config ${config}:\n`);
    expect(stderr).toContain("  - supervisor.maxConcurentReconnects: unknown key 'maxConcurentReconnects' (did you mean 'maxConcurrentReconnects'?)\n");
    expect(stderr).toContain("  - mcpServers.typo.comand: unknown key 'comand' (did you mean 'command'?)\n");
    expect(stderr).toContain('  - mcpServers.secret.env.KEY: environment variable CHECK_TEST_UNSET_VARIABLE is not set\n');
    expect(stderr).toContain('  - mcpServers...: invalid id ".."');
  });

  it('an unreadable file is a problem too; --check without --config is a usage error', async () => {
    const missing = await check(['--check', '--config', join(dir, 'nope.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read file: ENOENT/);
    const usage = await check(['--check']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^--check needs --config <file>/);
  });
});

describe('starting on a config with keys from other clients', () => {
  it('logs one info line per server naming the keys it ignores', async () => {
    const config = join(dir, 'ignored.json');
    await writeFile(config, JSON.stringify({ mcpServers: { off: { command: 'x', disabled: true, autoApprove: ['a'], description: 'd' } } }));
    const cli = await startCli(['--config', config, '--port', '0']);
    const line = await waitUntil(
      () => cli.stdout().split('\n').find((text) => text.includes('config: ignoring keys')),
      10_000,
      () => `no ignored-keys line in:\n${cli.stdout()}`,
    );
    expect(JSON.parse(line)).toMatchObject({ level: 30, server: 'off', keys: ['autoApprove', 'description'] });
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  });
});
