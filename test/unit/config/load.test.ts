import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors.js';
import { parseConfig } from '../../../src/config/load.js';
import { DEFAULT_SETTINGS } from '../../../src/core/settings.js';

function issuesOf(raw: unknown, env: Record<string, string> = {}): Array<{ path: string; message: string }> {
  try {
    parseConfig(raw, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('accepts the mcpServers format and infers each transport', () => {
    const config = parseConfig({
      mcpServers: {
        files: { command: 'npx', args: ['-y', 'server-filesystem', '.'] },
        remote: { url: 'http://127.0.0.1:3001/mcp' },
        cursor: { type: 'http', url: 'http://127.0.0.1:3001/mcp' },
        legacy: { url: 'http://127.0.0.1:3002/sse' },
        explicit: { type: 'sse', url: 'http://127.0.0.1:3002/events' },
      },
    });
    expect(Object.fromEntries(config.servers.map((server) => [server.id, server.target.type]))).toEqual({
      files: 'stdio',
      remote: 'streamable-http',
      cursor: 'streamable-http',
      legacy: 'sse',
      explicit: 'sse',
    });
    expect(config.maxConcurrentReconnects).toBe(4);
    expect(config.servers[0]).toMatchObject({ priority: 0, dependsOn: [], required: true, settings: DEFAULT_SETTINGS });
  });

  it('layers health settings: defaults, then supervisor-wide, then per server', () => {
    const config = parseConfig({
      supervisor: { health: { pingTimeoutMs: 2000, degradedLatencyMs: 800 } },
      mcpServers: { a: { command: 'x', health: { degradedLatencyMs: 500 } } },
    });
    expect(config.servers[0]?.settings).toMatchObject({ pingTimeoutMs: 2000, degradedLatencyMs: 500, connectTimeoutMs: 20_000 });
  });

  it('expands ${VAR} and ${VAR:-default} from the environment, and reports an unset one by path', () => {
    const config = parseConfig(
      { mcpServers: { r: { url: 'http://127.0.0.1:${PORT:-3001}/mcp', headers: { Authorization: 'Bearer ${TOKEN}' } } } },
      { TOKEN: 's3cret' },
    );
    expect(config.servers[0]?.target).toEqual({ type: 'streamable-http', url: 'http://127.0.0.1:3001/mcp', headers: { Authorization: 'Bearer s3cret' } });
    expect(issuesOf({ mcpServers: { r: { command: 'x', env: { KEY: '${MISSING}' } } } })).toEqual([
      { path: 'mcpServers.r.env.KEY', message: 'environment variable MISSING is not set' },
    ]);
  });

  it('lists every problem at once, each at its own path', () => {
    const issues = issuesOf({
      supervisor: { maxConcurrentReconnects: 0 },
      mcpServers: {
        a: { command: 'x', args: [1] },
        b: { url: 'ftp://example' },
        c: {},
        d: { command: 'y', dependsOn: ['nobody'] },
        e: { command: 'z', surprise: true },
        f: { command: 'w', health: { pingTimeoutMs: -1 } },
      },
    });
    expect(issues.map((issue) => issue.path).sort()).toEqual([
      'mcpServers.a.args.0',
      'mcpServers.b.url',
      'mcpServers.c.type',
      'mcpServers.d.dependsOn.0',
      'mcpServers.e',
      'mcpServers.f.health.pingTimeoutMs',
      'supervisor.maxConcurrentReconnects',
    ]);
  });

  it('rejects dependency cycles and self-dependencies', () => {
    const issues = issuesOf({
      mcpServers: { a: { command: 'x', dependsOn: ['b'] }, b: { command: 'x', dependsOn: ['c'] }, c: { command: 'x', dependsOn: ['a'] }, d: { command: 'x', dependsOn: ['d'] } },
    });
    expect(issues).toContainEqual({ path: 'mcpServers.d.dependsOn.0', message: 'a server cannot depend on itself' });
    expect(issues.filter((issue) => issue.message.startsWith('dependency cycle'))).toHaveLength(1);
  });

  it('takes the API token from the config, typically through ${VAR}', () => {
    expect(parseConfig({ supervisor: { token: '${API_TOKEN}' }, mcpServers: {} }, { API_TOKEN: 't0k' }).token).toBe('t0k');
    expect(issuesOf({ supervisor: { token: '' }, mcpServers: {} }).map((issue) => issue.path)).toEqual(['supervisor.token']);
  });

  it('says what is wrong with something that is not a config at all', () => {
    expect(issuesOf('nope')[0]?.path).toBe('');
    expect(issuesOf({ servers: {} }).map((issue) => issue.path)).toEqual(['mcpServers', '']);
  });
});
