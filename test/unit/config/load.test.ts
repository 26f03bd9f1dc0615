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

  it('takes probeJitter as a ratio in [0, 1) (0 turns it off) and names a value outside with what is allowed', () => {
    expect(parseConfig({ mcpServers: { a: { command: 'x' } } }).servers[0]?.settings.probeJitter).toBe(0.1);
    const config = parseConfig({ supervisor: { health: { probeJitter: 0 } }, mcpServers: { a: { command: 'x' }, b: { command: 'x', health: { probeJitter: 0.5 } } } });
    expect(config.servers.map((server) => server.settings.probeJitter)).toEqual([0, 0.5]);
    const issues = issuesOf({
      supervisor: { health: { probeJitter: 1 } },
      mcpServers: { a: { command: 'x', health: { probeJitter: -0.1 } }, b: { command: 'x', health: { probeJitter: '10%' } } },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'supervisor.health.probeJitter', message: expect.stringContaining('less than 1') },
        { path: 'mcpServers.a.health.probeJitter', message: expect.stringContaining('at least 0') },
        { path: 'mcpServers.b.health.probeJitter', message: expect.stringContaining('from 0 (no jitter)') },
      ]),
    );
    expect(issues).toHaveLength(3);
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
      'mcpServers.e.surprise',
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

  it('reads supervisor.cluster (etcd as one URL or several, ${VAR}s expanded) and names each bad field', () => {
    const config = parseConfig({ supervisor: { cluster: { etcd: '${ETCD}', instance: 'a-1', leaseTtlSeconds: 5 } }, mcpServers: {} }, { ETCD: 'http://10.0.0.5:2379' });
    expect(config.cluster).toEqual({ etcd: ['http://10.0.0.5:2379'], instance: 'a-1', leaseTtlSeconds: 5 });
    expect(parseConfig({ supervisor: { cluster: { etcd: ['http://a:2379', 'https://b:2379'] } }, mcpServers: {} }).cluster?.etcd).toEqual(['http://a:2379', 'https://b:2379']);
    expect(parseConfig({ mcpServers: {} }).cluster).toBeUndefined();
    const problems = issuesOf({ supervisor: { cluster: { etcd: 'etcd:2379', instance: 'no spaces', leaseTtlSeconds: 1, lease: 3 } }, mcpServers: {} }).map((issue) => issue.path);
    expect(problems).toEqual(expect.arrayContaining(['supervisor.cluster.etcd', 'supervisor.cluster.instance', 'supervisor.cluster.leaseTtlSeconds']));
    // The misspelled key too, with the rest.
    expect(problems.length).toBeGreaterThanOrEqual(4);
  });

  it('says what is wrong with something that is not a config at all', () => {
    expect(issuesOf('nope')[0]?.path).toBe('');
    expect(issuesOf({ server: {} })).toEqual([
      { path: 'server', message: "unknown key 'server' (did you mean 'servers'?)" },
      { path: 'mcpServers', message: 'missing: the servers go under "mcpServers" (or "servers", as in VS Code\'s mcp.json)' },
    ]);
  });
});

describe('configs people already have', () => {
  it('accepts and ignores autoApprove, alwaysAllow, description, gallery and version, and returns them per server', () => {
    const config = parseConfig({
      mcpServers: {
        cline: { command: 'npx', args: ['-y', 'x'], autoApprove: ['search'], disabled: false },
        roo: { command: 'npx', alwaysAllow: [], description: 'Roo Code writes these' },
        plain: { command: 'npx' },
      },
    });
    expect(config.servers.map((server) => server.id)).toEqual(['cline', 'roo', 'plain']);
    expect(config.ignored).toEqual([
      { path: 'mcpServers.cline', server: 'cline', keys: ['autoApprove'] },
      { path: 'mcpServers.roo', server: 'roo', keys: ['alwaysAllow', 'description'] },
    ]);
    // Ignored keys are not even expanded: a placeholder in a description is no error.
    expect(parseConfig({ mcpServers: { a: { command: 'x', description: 'uses ${NOT_SET}' } } }, {}).ignored).toHaveLength(1);
  });

  it('takes every transport spelling the clients write', () => {
    const types = Object.fromEntries(
      parseConfig({
        mcpServers: {
          stdio: { type: 'stdio', command: 'x' },
          sse: { type: 'sse', url: 'http://127.0.0.1:1/events' },
          http: { type: 'http', url: 'http://127.0.0.1:1/mcp' },
          dashed: { type: 'streamable-http', url: 'http://127.0.0.1:1/mcp' },
          camel: { type: 'streamableHttp', url: 'http://127.0.0.1:1/mcp' },
        },
      }).servers.map((server) => [server.id, server.target.type]),
    );
    expect(types).toEqual({ stdio: 'stdio', sse: 'sse', http: 'streamable-http', dashed: 'streamable-http', camel: 'streamable-http' });
    expect(issuesOf({ mcpServers: { a: { type: 'streamable_http', url: 'http://127.0.0.1:1/mcp' } } })).toEqual([
      { path: 'mcpServers.a.type', message: "unknown transport type 'streamable_http' (did you mean 'streamable-http'?): use stdio, sse, http or streamable-http" },
    ]);
  });

  it('timeout becomes the default tool-call deadline (ms); one that looks like seconds is a warning', () => {
    const config = parseConfig({ mcpServers: { a: { command: 'x', timeout: 120_000 }, b: { command: 'x' }, c: { command: 'x', timeout: 60 } } });
    expect(config.servers.map((server) => server.callTimeoutMs)).toEqual([120_000, undefined, 60]);
    expect(config.warnings).toEqual([
      { path: 'mcpServers.c.timeout', message: 'timeout is in milliseconds: 60 ms is probably meant as seconds (Cline and Roo Code write seconds); write 60000' },
    ]);
    expect(issuesOf({ mcpServers: { a: { command: 'x', timeout: -1 } } }).map((issue) => issue.path)).toEqual(['mcpServers.a.timeout']);
  });

  it("reads VS Code's top-level servers (inputs ignored); both servers and mcpServers is an error", () => {
    const config = parseConfig({ inputs: [{ type: 'promptString', id: 'key', password: true }], servers: { a: { type: 'stdio', command: 'x' } } });
    expect(config.servers.map((server) => server.id)).toEqual(['a']);
    expect(config.ignored).toEqual([{ path: '', keys: ['inputs'] }]);
    // Paths name the key the file uses.
    expect(issuesOf({ servers: { a: { comand: 'x' } } })).toEqual([{ path: 'servers.a.comand', message: "unknown key 'comand' (did you mean 'command'?)" }]);
    expect(issuesOf({ servers: {}, mcpServers: {} })).toEqual([
      { path: '', message: 'both "mcpServers" and "servers" are set: keep one ("servers" is VS Code\'s name for "mcpServers")' },
    ]);
  });

  it('names an unknown key with a suggestion, in server entries, the supervisor block and health, all in one error', () => {
    const issues = issuesOf({
      mcpServer: {},
      supervisor: { maxConcurentReconnects: 2, health: { pingTimeout: 5 } },
      mcpServers: {
        typo: { comand: 'npx', args: [] },
        far: { command: 'x', frobnicate: true },
        health: { command: 'x', health: { zombieAftr: 3 } },
        stdioUrl: { type: 'stdio', command: 'x', url: 'http://127.0.0.1:1/mcp' },
      },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'mcpServer', message: "unknown key 'mcpServer' (did you mean 'mcpServers'?)" },
        { path: 'supervisor.maxConcurentReconnects', message: "unknown key 'maxConcurentReconnects' (did you mean 'maxConcurrentReconnects'?)" },
        { path: 'supervisor.health.pingTimeout', message: "unknown key 'pingTimeout' (did you mean 'pingTimeoutMs'?)" },
        { path: 'mcpServers.typo.comand', message: "unknown key 'comand' (did you mean 'command'?)" },
        { path: 'mcpServers.far.frobnicate', message: "unknown key 'frobnicate'" },
        { path: 'mcpServers.health.health.zombieAftr', message: "unknown key 'zombieAftr' (did you mean 'zombieAfter'?)" },
        { path: 'mcpServers.stdioUrl.url', message: "'url' does not apply to a stdio server" },
      ]),
    );
    // The misspelled command is reported by name, not as "needs either command or url".
    expect(issues.filter((issue) => issue.path.startsWith('mcpServers.typo'))).toHaveLength(1);
    expect(issues).toHaveLength(7);
  });

  it('accepts ${env:VAR} and ${workspaceFolder}; ${input:…} cannot be answered and is named', () => {
    const config = parseConfig(
      { mcpServers: { a: { command: 'x', args: ['${workspaceFolder}/data', '${userHome}'], env: { KEY: '${env:API_KEY}' } } } },
      { API_KEY: 'k' },
      'mcp.json',
      { baseDir: '/projects/app/.vscode' },
    );
    expect(config.servers[0]?.target).toMatchObject({ args: ['/projects/app/data', expect.any(String)], env: { KEY: 'k' } });
    expect(issuesOf({ mcpServers: { a: { url: 'http://127.0.0.1:1/mcp', headers: { Authorization: 'Bearer ${input:token}' } } } })).toEqual([
      {
        path: 'mcpServers.a.headers.Authorization',
        message: '${input:token} asks VS Code to prompt for a value, which a service cannot do: put the value in an environment variable and write ${env:NAME}',
      },
    ]);
    // ${env:…} never falls back to a predefined variable.
    expect(issuesOf({ mcpServers: { a: { command: '${env:workspaceFolder}' } } })).toEqual([
      { path: 'mcpServers.a.command', message: 'environment variable workspaceFolder is not set' },
    ]);
  });

  it('keeps disabled servers in the config, and warns when an enabled one depends on one', () => {
    const config = parseConfig({ mcpServers: { off: { command: 'x', disabled: true }, on: { command: 'y', dependsOn: ['off'] } } });
    expect(config.servers.map((server) => [server.id, server.disabled])).toEqual([
      ['off', true],
      ['on', false],
    ]);
    expect(config.warnings).toEqual([{ path: 'mcpServers.on.dependsOn.0', message: '"off" is disabled: "on" waits until it is started' }]);
  });
});

describe('ids', () => {
  it('refuses "." and "..", and anything outside the charset, by path', () => {
    const issues = issuesOf(JSON.parse('{"mcpServers": {".": {"command": "x"}, "..": {"command": "x"}, "a b": {"command": "x"}, "ok.id_-1": {"command": "x"}}}'));
    expect(issues.map((issue) => issue.path)).toEqual(['mcpServers..', 'mcpServers...', 'mcpServers.a b']);
    expect(issues[0]?.message).toBe('invalid id ".": server ids are 1 to 128 letters, digits, ".", "_" and "-", and not "." or ".."');
    expect(issuesOf({ mcpServers: { ['x'.repeat(129)]: { command: 'x' } } })).toHaveLength(1);
  });

  it('__proto__, constructor and toString are ordinary ids: kept, in order, and checked as dependencies', () => {
    const config = parseConfig(
      JSON.parse('{"mcpServers": {"__proto__": {"command": "a"}, "constructor": {"command": "b", "dependsOn": ["__proto__"]}, "toString": {"command": "c"}}}'),
    );
    expect(config.servers.map((server) => [server.id, server.dependsOn])).toEqual([
      ['__proto__', []],
      ['constructor', ['__proto__']],
      ['toString', []],
    ]);
    // An id that only exists on Object.prototype is no server.
    expect(issuesOf({ mcpServers: { a: { command: 'x', dependsOn: ['hasOwnProperty'] } } })).toEqual([
      { path: 'mcpServers.a.dependsOn.0', message: 'unknown server "hasOwnProperty"' },
    ]);
  });
});
