// The real `mcp-supervisor` command as a child process (through its package bin), driven over HTTP.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fixtureServerPath, startHttpFixture } from '../../fixtures/http-fixture.js';
import type { HttpFixture } from '../../fixtures/http-fixture.js';
import { descendantPids, describePids, isAlive, waitForExit, waitForNoDescendants } from '../support/processes.js';
import { FAST_HEALTH, killAllClis, spawnCli, startCli, waitUntil } from '../support/cli.js';
import type { Cli } from '../support/cli.js';
import { openEvents } from '../support/sse.js';

const SHUTDOWN_BUDGET_MS = 10_000;

const stdioServer = (extra: Record<string, unknown> = {}) => ({ command: process.execPath, args: [fixtureServerPath, 'stdio'], ...extra });

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

interface ActorView {
  id: string;
  state: string;
}

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T; text: string }> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T, text };
}

async function waitForStates(cli: Cli, headers: Record<string, string>, want: Record<string, string>, timeoutMs = 20_000): Promise<ActorView[]> {
  let last: ActorView[] = [];
  return waitUntil(
    async () => {
      const { status, body } = await getJson<{ actors: ActorView[] }>(`${cli.url}/actors`, headers);
      if (status !== 200) return undefined;
      last = body.actors;
      const states = Object.fromEntries(last.map((actor) => [actor.id, actor.state]));
      return Object.entries(want).every(([id, state]) => states[id] === state) ? last : undefined;
    },
    timeoutMs,
    () => `wanted ${JSON.stringify(want)}, last /actors: ${JSON.stringify(last.map((actor) => [actor.id, actor.state]))}`,
  );
}

async function pidOf(cli: Cli, headers: Record<string, string>, id: string): Promise<number> {
  const { body } = await getJson<{ snapshot: { context: { session: { pid?: number } | null } } }>(`${cli.url}/actors/${id}`, headers);
  const pid = body.snapshot.context.session?.pid;
  if (typeof pid !== 'number') throw new Error(`no pid for ${id}: ${JSON.stringify(body.snapshot.context.session)}`);
  return pid;
}

/** Prometheus text exposition format 0.0.4, line by line; returns the samples. */
function parsePrometheus(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  const typed = new Map<string, string>();
  const metricName = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sample = new RegExp(`^(${metricName})(?:\\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\.)*",?)*)\\})? (\\S+)(?: -?\\d+)?$`);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (comment) {
      if (comment[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped'], line).toContain(comment[3]);
        typed.set(comment[2]!, comment[3]!);
      }
      continue;
    }
    expect(line.startsWith('#'), `stray comment line: ${line}`).toBe(false);
    const match = sample.exec(line);
    expect(match, `not a Prometheus sample line: ${line}`).not.toBeNull();
    const value = Number(match![3]!.replace(/^\+Inf$/, 'Infinity').replace(/^-Inf$/, '-Infinity'));
    expect(Number.isNaN(value) && match![3] !== 'NaN', `bad value in: ${line}`).toBe(false);
    const labels: Record<string, string> = {};
    for (const [, key, labelValue] of (match![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"/g)) labels[key!] = labelValue!;
    samples.push({ name: match![1]!, labels, value });
  }
  expect(typed.size).toBeGreaterThan(0);
  return samples;
}

/** Starts listening to the inspector bridge the way a browser page would. */
function watchInspector(url: string): { messages: string[]; close(): void } {
  const socket = new WebSocket(url.replace(/^http/, 'ws'));
  const messages: string[] = [];
  socket.on('message', (data) => messages.push(data.toString()));
  socket.on('error', () => undefined);
  return { messages, close: () => socket.terminate() };
}

// ---------------------------------------------------------------------------------------------

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-supervisor-e2e-'));
});

afterAll(async () => {
  killAllClis();
  const left = await waitForNoDescendants(10_000);
  await rm(dir, { recursive: true, force: true });
  expect(left, describePids(left)).toEqual([]);
});

describe('mcp-supervisor CLI, running', () => {
  const secrets = {
    envLiteral: `env-literal-${randomBytes(8).toString('hex')}`,
    envExpanded: `env-expanded-${randomBytes(8).toString('hex')}`,
    header: `header-${randomBytes(8).toString('hex')}`,
    token: `token-${randomBytes(8).toString('hex')}`,
  };
  const auth = { authorization: `Bearer ${secrets.token}` };
  let fixture: HttpFixture;
  let configPath: string;
  let original: Record<string, unknown>;
  let cli: Cli;
  let inspectorUrl: string;
  let inspector: ReturnType<typeof watchInspector>;
  /** Every pid a stdio server of this CLI ever had. */
  const serverPids = new Set<number>();
  /** Every response body the API gave, for the secrets check. */
  const bodies: Array<{ what: string; text: string }> = [];

  beforeAll(async () => {
    fixture = await startHttpFixture();
    configPath = join(dir, 'running.json');
    original = {
      $schema: 'https://example.com/mcp-supervisor.schema.json',
      supervisor: { maxConcurrentReconnects: 4, health: FAST_HEALTH },
      mcpServers: {
        a: stdioServer({ env: { API_KEY: secrets.envLiteral, OTHER: '${PLANTED_SECRET}' }, priority: 10 }),
        // Logs each tool call as it arrives, so the shutdown test can see its call reach the server.
        b: stdioServer({ env: { FIXTURE_LOG_CALLS: '1' } }),
        remote: { type: 'streamable-http', url: fixture.mcpUrl, headers: { Authorization: `Bearer ${secrets.header}` } },
      },
    };
    await writeFile(configPath, `${JSON.stringify(original, null, 2)}\n`);
    cli = await startCli(['--config', configPath, '--port', '0', '--token', secrets.token, '--log-level', 'trace', '--inspect', '--inspect-port', '0'], {
      PLANTED_SECRET: secrets.envExpanded,
    });
    inspectorUrl = await waitUntil(() => /statecharts: open (http:\/\/\S+)/.exec(cli.stderr())?.[1], 5_000, () => cli.stderr());
    inspector = watchInspector(inspectorUrl);
  });

  afterAll(async () => {
    inspector?.close();
    if (cli && cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
    await fixture?.stop();
  });

  it('prints one line saying where to connect, without the token', () => {
    expect(cli.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const line = cli.stderr().split('\n').find((text) => text.includes('listening on'));
    expect(line).toBe(`mcp-supervisor listening on ${cli.url} — try: curl -H "Authorization: Bearer <token>" ${cli.url}/actors`);
  });

  it('requires the token on every route but /health', async () => {
    for (const path of ['/actors', '/actors/a', '/metrics', '/events', '/openapi.json']) {
      const response = await fetch(`${cli.url}${path}`, { signal: AbortSignal.timeout(5_000) });
      expect(response.status, path).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    const wrong = await fetch(`${cli.url}/actors`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    await wrong.body?.cancel();
    expect((await getJson(`${cli.url}/actors`, auth)).status).toBe(200);
    const health = await fetch(`${cli.url}/health`);
    expect([200, 503]).toContain(health.status);
    await health.body?.cancel();
  });

  it('brings every server to healthy, and /health says 200 without a token', async () => {
    await waitForStates(cli, auth, { a: 'healthy', b: 'healthy', remote: 'healthy' });
    const health = await getJson<{ status: string }>(`${cli.url}/health`);
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
    bodies.push({ what: '/health', text: health.text });
  });

  it('streams transitions on /events when a server process is killed, and reconnects it', async () => {
    const events = await openEvents(cli.url, auth);
    try {
      const pid = await pidOf(cli, auth, 'a');
      serverPids.add(pid);
      process.kill(pid, 'SIGKILL');
      const lost = await events.waitFor((event) => event.event === 'state.changed' && event.data.id === 'a' && event.data.to === 'reconnecting');
      expect(['healthy', 'degraded']).toContain(lost.data.from);
      expect(lost.id).toMatch(/^\d+$/);
      await events.waitFor((event) => event.event === 'state.changed' && event.data.id === 'a' && event.data.to === 'healthy' && Number(event.id) > Number(lost.id));
      const states = events.events.filter((event) => event.event === 'state.changed' && event.data.id === 'a').map((event) => event.data.to);
      expect(states).toEqual(expect.arrayContaining(['reconnecting', 'connecting', 'healthy']));
      const next = await pidOf(cli, auth, 'a');
      expect(next).not.toBe(pid);
      serverPids.add(next);
      expect(await waitForExit(pid, 5_000)).toBe(true);
    } finally {
      await events.close();
      bodies.push({ what: '/events', text: events.raw() });
    }
  });

  it('serves /metrics as Prometheus text', async () => {
    const response = await fetch(`${cli.url}/metrics`, { headers: auth });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    bodies.push({ what: '/metrics', text });
    const samples = parsePrometheus(text);
    const state = (server: string) => samples.find((sample) => sample.name === 'mcp_connection_state' && sample.labels.server === server && sample.value === 1)?.labels.state;
    // Serving, at the scrape's moment: on a loaded machine one ping over FAST_HEALTH's 500 ms
    // makes a server degraded for a probe or two (seen with the suite's heaviest files beside it).
    expect(['healthy', 'degraded']).toContain(state('b'));
    expect(['healthy', 'degraded']).toContain(state('remote'));
    expect(samples.some((sample) => sample.name.startsWith('mcp_') && sample.labels.server === 'a')).toBe(true);
  });

  it('POST /actors adds a server and writes it to the config file as given; DELETE removes it', async () => {
    const entry = stdioServer({ env: { KEY: '${PLANTED_SECRET}' } });
    const created = await fetch(`${cli.url}/actors`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'added', ...entry }),
    });
    const createdText = await created.text();
    expect(created.status, createdText).toBe(201);
    bodies.push({ what: 'POST /actors', text: createdText });

    const onDisk = JSON.parse(await readFile(configPath, 'utf8')) as { mcpServers: Record<string, unknown> };
    expect(onDisk).toEqual({ ...original, mcpServers: { ...(original.mcpServers as object), added: entry } });
    const text = await readFile(configPath, 'utf8');
    expect(text).toContain('"${PLANTED_SECRET}"');
    expect(text).not.toContain(secrets.envExpanded);

    await waitForStates(cli, auth, { added: 'healthy' });
    const pid = await pidOf(cli, auth, 'added');
    serverPids.add(pid);

    const removed = await fetch(`${cli.url}/actors/added`, { method: 'DELETE', headers: auth });
    expect(removed.status).toBe(200);
    expect(await removed.json()).toEqual({ removed: 'added' });
    expect(JSON.parse(await readFile(configPath, 'utf8'))).toEqual(original);
    expect(await waitForExit(pid, 5_000)).toBe(true);
    expect((await getJson(`${cli.url}/actors/added`, auth)).status).toBe(404);
    expect((await readFile(configPath, 'utf8')).includes('added')).toBe(false);
  });

  it('never shows a planted secret in any response body', async () => {
    for (const path of ['/actors', '/actors/a', '/actors/b', '/actors/remote', '/actors/a/logs', '/health', '/metrics', '/openapi.json', '/docs']) {
      const response = await fetch(`${cli.url}${path}`, { headers: auth });
      expect(response.status, path).toBe(200);
      bodies.push({ what: path, text: await response.text() });
    }
    // The detail does show which env names and headers exist.
    const detail = bodies.find((body) => body.what === '/actors/a')!.text;
    expect(detail).toContain('API_KEY');
    expect(bodies.find((body) => body.what === '/actors/remote')!.text).toContain('Authorization');
    for (const { what, text } of bodies) {
      for (const [kind, secret] of Object.entries(secrets)) expect(text.includes(secret), `${kind} secret in ${what}`).toBe(false);
    }
    expect(bodies.map((body) => body.what)).toEqual(expect.arrayContaining(['/events', '/metrics', '/health']));
  });

  it('shows every statechart to the inspector, live and without secrets', async () => {
    const html = await (await fetch(inspectorUrl)).text();
    expect(html).toContain('stately.ai/inspect');
    await waitUntil(
      () => inspector.messages.some((message) => message.includes('"@xstate.snapshot"')),
      10_000,
      () => `inspector messages: ${inspector.messages.length}`,
    );
    const all = inspector.messages.join('\n');
    expect(all).toContain('"@xstate.actor"');

    // Killing a server shows up in the inspector as the actor's snapshots moving through reconnecting.
    await waitForStates(cli, auth, { b: 'healthy' });
    const pid = await pidOf(cli, auth, 'b');
    serverPids.add(pid);
    const before = inspector.messages.length;
    process.kill(pid, 'SIGKILL');
    const valuesOfB = (): string[] =>
      inspector.messages
        .slice(before)
        .map((message) => JSON.parse(message) as { type?: string; snapshot?: { value?: unknown; context?: { id?: string } } })
        .filter((event) => event.type === '@xstate.snapshot' && event.snapshot?.context?.id === 'b')
        .map((event) => JSON.stringify(event.snapshot?.value));
    await waitUntil(() => valuesOfB().some((value) => value.includes('reconnecting')), 10_000, () => valuesOfB().join(', '));
    await waitUntil(() => valuesOfB().some((value) => value.includes('healthy')), 15_000, () => valuesOfB().join(', '));
    await waitForStates(cli, auth, { b: 'healthy' });
    serverPids.add(await pidOf(cli, auth, 'b'));
    const after = inspector.messages.slice(before).join('\n');
    for (const [kind, secret] of Object.entries(secrets)) expect(after.includes(secret), `${kind} secret in inspector stream`).toBe(false);
    for (const [kind, secret] of Object.entries(secrets)) expect(all.includes(secret), `${kind} secret in inspector stream`).toBe(false);
  });

  it('on SIGTERM settles an in-flight call, stops every server and exits 0 within 10 s', async () => {
    await waitForStates(cli, auth, { a: 'healthy', b: 'healthy' });
    for (const id of ['a', 'b']) serverPids.add(await pidOf(cli, auth, id));
    const events = await openEvents(cli.url, auth);

    // Every later answer of b is held for a minute: the echo below is still waiting when we stop.
    const latency = await fetch(`${cli.url}/actors/b/tools/set_latency`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ ms: 60_000 }),
    });
    expect(latency.status).toBe(200);
    await latency.body?.cancel();
    const echoesSeen = async (): Promise<number> => {
      const { body } = await getJson<{ lines: Array<{ text: string }> }>(`${cli.url}/actors/b/logs?lines=1000`, auth);
      return body.lines.filter((line) => line.text.endsWith('call echo')).length;
    };
    const echoesBefore = await echoesSeen();
    const inFlight = fetch(`${cli.url}/actors/b/tools/echo?timeoutMs=120000`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'never answered' }),
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as { error?: { code: string } } }));
    // The call is in flight once b has it: b logs each call as it arrives, and holds only the reply.
    await waitUntil(async () => (await echoesSeen()) > echoesBefore, 10_000, () => 'the echo call never reached b');

    const sent = Date.now();
    cli.child.kill('SIGTERM');
    const exit = await waitUntil(
      () => (cli.child.exitCode !== null || cli.child.signalCode !== null ? { code: cli.child.exitCode, signal: cli.child.signalCode } : undefined),
      SHUTDOWN_BUDGET_MS + 2_000,
      () => `no exit within ${SHUTDOWN_BUDGET_MS + 2_000} ms of SIGTERM; stderr:\n${cli.stderr()}`,
    );
    const tookMs = Date.now() - sent;
    expect(exit, `stderr:\n${cli.stderr()}`).toEqual({ code: 0, signal: null });
    expect(tookMs).toBeLessThan(SHUTDOWN_BUDGET_MS);

    const call = await inFlight;
    expect(call.status).toBe(503);
    expect(['connection_lost', 'not_connected']).toContain(call.body.error?.code);

    await events.close();
    const stopped = events.events.filter((event) => event.event === 'state.changed' && event.data.to === 'stopped').map((event) => event.data.id);
    expect(stopped).toEqual(expect.arrayContaining(['a', 'b', 'remote']));

    for (const pid of serverPids) expect(isAlive(pid), `server process ${pid} left running`).toBe(false);
    // Nothing of the CLI's is left under us (the HTTP fixture is ours, stopped after this).
    const left = (await waitUntil(
      () => {
        const others = descendantPids().filter((pid) => pid !== fixture.pid);
        return others.length === 0 ? others : undefined;
      },
      5_000,
      () => describePids(descendantPids().filter((pid) => pid !== fixture.pid)),
    )) as number[];
    expect(left).toEqual([]);
    for (const [kind, secret] of Object.entries(secrets)) expect(events.raw().includes(secret), `${kind} secret in /events`).toBe(false);
    expect(cli.stdout()).toMatch(/"msg":"stopped"/);
    console.info(`SIGTERM → exit 0 in ${tookMs} ms`);
  });

  it('never writes a planted secret to stdout or stderr, even at trace level', () => {
    const output = `${cli.stdout()}\n${cli.stderr()}`;
    expect(output).toMatch(/"level":10|"level":20/); // trace/debug lines were written
    for (const [kind, secret] of Object.entries(secrets)) expect(output.includes(secret), `${kind} secret in CLI output`).toBe(false);
  });
});

describe('mcp-supervisor CLI, bad input', () => {
  it('an invalid config lists every problem by path, exits non-zero and spawns nothing', async () => {
    const marker = join(dir, 'spawned');
    const configPath = join(dir, 'invalid.json');
    await writeFile(
      configPath,
      JSON.stringify({
        supervisor: { maxConcurrentReconnects: 0 },
        mcpServers: {
          // Valid on its own: were anything started, this would write the marker file.
          marker: { command: process.execPath, args: ['-e', 'require("fs").writeFileSync(process.argv[1], "x"); setInterval(() => {}, 1000)', marker] },
          nothing: { priority: 1 },
          typo: { command: 'node', argz: [] },
          remote: { url: 'ftp://example.com/mcp' },
          dep: { command: 'node', dependsOn: ['ghost'] },
          envy: { command: 'node', env: { K: '${MCP_E2E_UNSET_VARIABLE}' } },
        },
      }),
    );
    const cli = spawnCli(['--config', configPath, '--port', '0']);
    const exit = await cli.exited;
    expect(exit.code).toBe(1);
    const stderr = cli.stderr();
    for (const path of [
      'supervisor.maxConcurrentReconnects',
      'mcpServers.nothing',
      'mcpServers.typo',
      'mcpServers.remote.url',
      'mcpServers.dep.dependsOn.0',
      'mcpServers.envy.env.K',
    ]) {
      expect(stderr).toContain(`  - ${path}`);
    }
    expect(stderr).toContain('argz');
    expect(stderr).toContain('MCP_E2E_UNSET_VARIABLE');
    expect(cli.stdout()).not.toMatch(/listening/);
    expect(existsSync(marker)).toBe(false);
    expect(await waitForNoDescendants(5_000)).toEqual([]);
  });

  it('a missing or non-JSON config file is a config error too', async () => {
    const missing = spawnCli(['--config', join(dir, 'missing.json')]);
    expect((await missing.exited).code).toBe(1);
    expect(missing.stderr()).toMatch(/cannot read file/);
    const garbage = join(dir, 'garbage.json');
    await writeFile(garbage, '{ "mcpServers": ');
    const broken = spawnCli(['--config', garbage]);
    expect((await broken.exited).code).toBe(1);
    expect(broken.stderr()).toMatch(/not valid JSON/);
  });

  it('usage errors exit 2 with the help; --help and --version exit 0', async () => {
    const noConfig = spawnCli([]);
    expect((await noConfig.exited).code).toBe(2);
    expect(noConfig.stderr()).toMatch(/--config is required/);
    const badPort = spawnCli(['--config', 'x.json', '--port', 'http']);
    expect((await badPort.exited).code).toBe(2);
    expect(badPort.stderr()).toMatch(/--port must be a port number/);
    const help = spawnCli(['--help']);
    expect((await help.exited).code).toBe(0);
    expect(help.stdout()).toMatch(/Usage: mcp-supervisor --config <file>/);
    const version = spawnCli(['--version']);
    expect((await version.exited).code).toBe(0);
    const manifest = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(version.stdout().trim()).toBe(manifest.version);
  });

  it('a port already in use fails before any server is spawned', async () => {
    const marker = join(dir, 'spawned-port');
    const configPath = join(dir, 'port.json');
    await writeFile(
      configPath,
      JSON.stringify({ mcpServers: { marker: { command: process.execPath, args: ['-e', 'require("fs").writeFileSync(process.argv[1], "x")', marker] } } }),
    );
    await writeFile(join(dir, 'empty.json'), JSON.stringify({ mcpServers: {} }));
    const holder = await startCli(['--config', join(dir, 'empty.json'), '--port', '0']);
    try {
      const port = new URL(holder.url).port;
      const second = spawnCli(['--config', configPath, '--port', port]);
      expect((await second.exited).code).toBe(1);
      expect(second.stderr()).toMatch(/cannot listen on 127\.0\.0\.1:\d+/);
      expect(existsSync(marker)).toBe(false);
    } finally {
      holder.child.kill('SIGINT');
      expect((await holder.exited).code).toBe(0);
    }
  });
});

describe('mcp-supervisor CLI, token from the environment and SIGINT', () => {
  it('SIGKILLed, leaves no server behind: the watchdog ends every server process group', async () => {
    const configPath = join(dir, 'sigkill.json');
    await writeFile(configPath, JSON.stringify({ supervisor: { health: FAST_HEALTH }, mcpServers: { wrapped: stdioServer({ env: { FIXTURE_FORK_GRANDCHILD: '1' } }), plain: stdioServer() } }));
    const cli = await startCli(['-c', configPath, '-p', '0']);
    await waitForStates(cli, {}, { wrapped: 'healthy', plain: 'healthy' });
    const pids = [await pidOf(cli, {}, 'wrapped'), await pidOf(cli, {}, 'plain')];
    const logs = await getJson<{ lines: Array<{ text: string }> }>(`${cli.url}/actors/wrapped/logs`);
    const grandchild = await waitUntil(
      async () => {
        const { body } = await getJson<{ lines: Array<{ text: string }> }>(`${cli.url}/actors/wrapped/logs`);
        const line = body.lines.find((entry) => entry.text.startsWith('grandchild '));
        return line ? Number(line.text.split(' ')[1]) : undefined;
      },
      5_000,
      () => `no grandchild reported: ${JSON.stringify(logs.body)}`,
    );
    cli.child.kill('SIGKILL');
    await cli.exited;
    // A few seconds at most: the watchdog's SIGTERM, then SIGKILL after its 2 s grace.
    for (const pid of [...pids, grandchild]) expect(await waitForExit(pid, 6_000), `pid ${pid}`).toBe(true);
  });

  it('takes MCP_SUPERVISOR_TOKEN, and SIGINT with healthy servers exits 0 leaving no process', async () => {
    const configPath = join(dir, 'sigint.json');
    await writeFile(configPath, JSON.stringify({ supervisor: { health: FAST_HEALTH }, mcpServers: { one: stdioServer(), two: stdioServer() } }));
    const token = `env-token-${randomBytes(8).toString('hex')}`;
    const cli = await startCli(['-c', configPath, '-p', '0'], { MCP_SUPERVISOR_TOKEN: token });
    const headers = { authorization: `Bearer ${token}` };
    expect((await getJson(`${cli.url}/actors`)).status).toBe(401);
    await waitForStates(cli, headers, { one: 'healthy', two: 'healthy' });
    const pids = [await pidOf(cli, headers, 'one'), await pidOf(cli, headers, 'two')];
    const sent = Date.now();
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - sent).toBeLessThan(SHUTDOWN_BUDGET_MS);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(`${cli.stdout()}${cli.stderr()}`.includes(token)).toBe(false);
    expect(await waitForNoDescendants(5_000)).toEqual([]);
  });
});
