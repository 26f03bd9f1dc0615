/**
 * Per-server `limits` in the config (issue 15, points 4 and 8): values that are not positive
 * numbers are errors at their path, listed with every other problem as `--check` lists them
 * (it loads the file with `loadConfigFile`), and limits on a server that is only a URL are refused.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import { loadConfigFile, parseConfig } from '../../../src/config/load.js';

function issuesOf(raw: unknown): Array<{ path: string; message: string }> {
  try {
    parseConfig(raw, {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('limits', () => {
  it('are carried to the target of stdio and launched HTTP servers', () => {
    const config = parseConfig(
      {
        mcpServers: {
          files: { command: 'node', args: ['server.mjs'], limits: { maxMemoryBytes: 536_870_912, maxCpuRatio: 0.8, forSeconds: 60 } },
          web: { command: 'node', args: ['web.mjs'], url: 'http://127.0.0.1:3001/mcp', limits: { maxMemoryBytes: 1_073_741_824 } },
        },
      },
      {},
    );
    expect(config.servers.map((server) => ('limits' in server.target ? server.target.limits : undefined))).toEqual([
      { maxMemoryBytes: 536_870_912, maxCpuRatio: 0.8, forSeconds: 60 },
      { maxMemoryBytes: 1_073_741_824 },
    ]);
  });

  it('that are not positive numbers are errors at their path, listed with every other problem', () => {
    const issues = issuesOf({
      supervisor: { maxConcurrentReconnects: 0 },
      mcpServers: {
        a: { command: 'x', limits: { maxMemoryBytes: 0, maxCpuRatio: -1, forSeconds: '30' } },
        b: { command: 'x', limits: { maxMemoryBytes: '512MiB', maxCpu: 1 } },
        c: { url: 'http://127.0.0.1:1/mcp', limits: { maxMemoryBytes: 1_000_000 } },
        d: { command: 'x', limits: { maxMemoryBytes: Number.POSITIVE_INFINITY } },
      },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'supervisor.maxConcurrentReconnects' }),
        { path: 'mcpServers.a.limits.maxMemoryBytes', message: 'must be a positive number' },
        { path: 'mcpServers.a.limits.maxCpuRatio', message: 'must be a positive number' },
        { path: 'mcpServers.a.limits.forSeconds', message: 'must be a positive number' },
        { path: 'mcpServers.b.limits.maxMemoryBytes', message: 'must be a positive number' },
        expect.objectContaining({ path: 'mcpServers.b.limits.maxCpu' }),
        { path: 'mcpServers.c.limits', message: expect.stringMatching(/a server process the supervisor starts.*only a URL/) },
        { path: 'mcpServers.d.limits.maxMemoryBytes', message: 'must be a positive number' },
      ]),
    );
    // Nothing about the valid parts of the entries.
    expect(issues.filter((issue) => !issue.path.startsWith('mcpServers.') && issue.path !== 'supervisor.maxConcurrentReconnects')).toEqual([]);
  });

  it('--check (loadConfigFile) reports them by path in its one error, with the other problems', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-limits-'));
    dirs.push(dir);
    const file = join(dir, 'mcp.json');
    await writeFile(
      file,
      JSON.stringify({
        mcpServers: {
          leaky: { command: 'node', limits: { maxMemoryBytes: -5, forSeconds: 0 } },
          remote: { type: 'http', url: 'http://127.0.0.1:1/mcp', limits: { maxCpuRatio: 1 } },
          broken: { type: 'stdio' },
        },
      }),
    );
    const error = await loadConfigFile(file).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConfigError);
    const { issues, message } = error as ConfigError;
    expect(issues.map((issue) => issue.path).sort()).toEqual(
      ['mcpServers.broken.command', 'mcpServers.leaky.limits.forSeconds', 'mcpServers.leaky.limits.maxMemoryBytes', 'mcpServers.remote.limits'].sort(),
    );
    expect(message).toContain('mcpServers.leaky.limits.maxMemoryBytes: must be a positive number');
  });
});
