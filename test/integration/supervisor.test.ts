// The supervisor on real stdio fixture processes: dependencies, run-time add/remove/restart,
// operator commands, tool calls, and config validation.
import { createApp } from '../../src/http/app.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import type { ServerDefinition } from '../../src/config/load.js';
import type { RawConfig } from '../../src/config/schema.js';
import { connectionStateOf } from '../../src/machines/connection.machine.js';
import type { ConnectionSnapshot } from '../../src/machines/connection.machine.js';
import { isPanicking } from '../../src/machines/supervisor.machine.js';
import type { FleetEvent as SupervisorEmitted } from '../../src/fleet/events.js';
import { createSupervisor } from '../../src/fleet/supervisor.js';
import { UnknownServerError } from '../../src/fleet/errors.js';
import type { Supervisor } from '../../src/fleet/supervisor.js';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { descendantPids, describePids, isAlive, waitForNoDescendants } from '../support/processes.js';
import { until } from '../support/wait.js';

const FAST_HEALTH = {
  healthyIntervalMs: 500,
  stableIntervalMs: 1_000,
  pingTimeoutMs: 1_000,
  degradedIntervalMs: 300,
  initialBackoffMs: 50,
  maxBackoffMs: 500,
  connectTimeoutMs: 10_000,
};

const fixture = { command: process.execPath, args: [fixtureServerPath, 'stdio'] };

type Entry = NonNullable<RawConfig['mcpServers'][string]>;

function config(servers: Record<string, Entry>): RawConfig {
  return { supervisor: { maxConcurrentReconnects: 4, health: FAST_HEALTH }, mcpServers: servers };
}

/** A config entry resolved the way `createSupervisor` resolves them, for `add`. */
function definition(id: string, entry: Entry = fixture): ServerDefinition {
  const [server] = parseConfig(config({ [id]: entry })).servers;
  if (!server) throw new Error('no server parsed');
  return server;
}

interface Running {
  supervisor: Supervisor;
  events: SupervisorEmitted[];
}

const running = new Set<Supervisor>();

function start(servers: Record<string, Entry>): Running {
  const supervisor = createSupervisor(config(servers));
  running.add(supervisor);
  const events: SupervisorEmitted[] = [];
  supervisor.subscribe((event) => void events.push(event), { bufferSize: 100_000 });
  return { supervisor, events };
}

function pidOf(supervisor: Supervisor, id: string): number | undefined {
  return supervisor.connection(id).getSnapshot().context.session?.pid;
}

/** Waits on the connection actor itself (no polling) until `predicate` holds. */
async function waitForConnection(supervisor: Supervisor, id: string, predicate: (snapshot: ConnectionSnapshot) => boolean, timeoutMs = 15_000): Promise<ConnectionSnapshot> {
  try {
    return await waitFor(supervisor.connection(id), predicate, { timeout: timeoutMs });
  } catch (error) {
    const view = supervisor.view(id);
    throw new Error(`"${id}" not as expected within ${timeoutMs} ms (now ${view.state}, last error: ${view.lastError?.message ?? 'none'})`, { cause: error });
  }
}

/** Healthy with a process other than `not` (a fresh one after a kill, restart or stop/start). */
function healthyWithNewPid(supervisor: Supervisor, id: string, not: number | undefined): Promise<ConnectionSnapshot> {
  return waitForConnection(supervisor, id, (snapshot) => connectionStateOf(snapshot) === 'healthy' && snapshot.context.session?.pid !== undefined && snapshot.context.session.pid !== not);
}

/** The stream is delivered asynchronously; waits until it has caught up with `predicate`. */
async function waitForEvent(events: SupervisorEmitted[], predicate: (event: SupervisorEmitted) => boolean, timeoutMs = 5_000): Promise<void> {
  await until(() => events.some(predicate), () => `event not seen; got ${events.map((event) => event.type).join(', ')}`, timeoutMs, 20);
}

afterEach(async () => {
  await Promise.all([...running].map((supervisor) => supervisor.stop()));
  running.clear();
});

afterAll(async () => {
  const leftovers = await waitForNoDescendants(5_000);
  expect(leftovers, describePids(leftovers)).toEqual([]);
});

describe('supervisor on real stdio servers', () => {
  it('admits a dependent server only once its dependency is healthy', async () => {
    // b is listed first so that, without the dependency, it would be admitted first.
    const { supervisor, events } = start({ b: { ...fixture, dependsOn: ['a'] }, a: fixture });
    await supervisor.ready('a', 15_000);
    await supervisor.ready('b', 15_000);
    await waitForEvent(events, (event) => event.type === 'state.changed' && event.id === 'b' && event.to === 'healthy');

    const index = (predicate: (event: SupervisorEmitted) => boolean): number => events.findIndex(predicate);
    const aHealthy = index((event) => event.type === 'state.changed' && event.id === 'a' && event.to === 'healthy');
    const bAdmitted = index((event) => event.type === 'slot.granted' && event.id === 'b');
    const bConnecting = index((event) => event.type === 'state.changed' && event.id === 'b' && event.to === 'connecting');
    expect(aHealthy).toBeGreaterThanOrEqual(0);
    expect(bAdmitted).toBeGreaterThan(aHealthy);
    expect(bConnecting).toBeGreaterThan(bAdmitted);
    // b asked for a slot at once and waited in `reconnecting` until then: never `connecting` before a was healthy.
    const bBefore = events.slice(0, aHealthy).filter((event) => event.type === 'state.changed' && event.id === 'b');
    expect(bBefore.map((event) => (event as { to: string }).to)).not.toContain('connecting');
  });

  it('adds a server at run time and removes it, reaping its process', async () => {
    const { supervisor, events } = start({ a: fixture });
    await supervisor.ready('a', 15_000);

    supervisor.add(definition('c'));
    await supervisor.ready('c', 15_000);
    expect(supervisor.ids().sort()).toEqual(['a', 'c']);
    await expect(supervisor.callTool('c', 'echo', { message: 'added' })).resolves.toMatchObject({ content: [{ type: 'text', text: 'added' }] });
    const pid = pidOf(supervisor, 'c');
    expect(pid).toBeDefined();
    expect(isAlive(pid as number)).toBe(true);

    await supervisor.remove('c');
    // `remove` resolves once the transport is closed, which waits for the process to exit.
    expect(isAlive(pid as number)).toBe(false);
    expect(supervisor.ids()).toEqual(['a']);
    expect(() => supervisor.view('c')).toThrow(UnknownServerError);
    expect(() => supervisor.command('c', 'start')).toThrow(UnknownServerError);
    expect(() => supervisor.restart('c')).toThrow(UnknownServerError);
    await expect(async () => supervisor.callTool('c', 'echo', { message: 'gone' })).rejects.toThrow(UnknownServerError);
    await expect(supervisor.remove('c')).rejects.toThrow(UnknownServerError);
    await waitForEvent(events, (event) => event.type === 'server.removed' && event.id === 'c');
    expect(events.some((event) => event.type === 'server.added' && event.id === 'c')).toBe(true);
    // The others are untouched.
    expect(supervisor.state('a')).toBe('healthy');
  });

  it('restarts a server with a fresh process', async () => {
    const { supervisor } = start({ a: fixture });
    await supervisor.ready('a', 15_000);
    const before = pidOf(supervisor, 'a');
    expect(before).toBeDefined();

    supervisor.restart('a');
    const after = (await healthyWithNewPid(supervisor, 'a', before)).context.session?.pid;
    expect(after).not.toBe(before);
    expect(isAlive(before as number)).toBe(false);
    expect(isAlive(after as number)).toBe(true);
    await expect(supervisor.callTool('a', 'echo', { message: 'restarted' })).resolves.toMatchObject({ content: [{ type: 'text', text: 'restarted' }] });
  });

  it('stops a server on command, reaping its process, and starts it again', async () => {
    const { supervisor } = start({ a: fixture, other: fixture });
    await supervisor.ready('a', 15_000);
    await supervisor.ready('other', 15_000);
    const before = pidOf(supervisor, 'a');

    supervisor.command('a', 'stop');
    await waitForConnection(supervisor, 'a', (snapshot) => snapshot.matches('stopped') && snapshot.context.session === undefined);
    expect(supervisor.view('a').state).toBe('stopped');
    expect(isAlive(before as number)).toBe(false);
    // Stopped by the operator: not lost, and nothing else is disturbed.
    expect(isPanicking(supervisor.snapshot)).toBe(false);
    expect(supervisor.state('other')).toBe('healthy');

    supervisor.command('a', 'start');
    const after = (await healthyWithNewPid(supervisor, 'a', before)).context.session?.pid;
    expect(after).not.toBe(before);
    await expect(supervisor.callTool('a', 'echo', { message: 'started' })).resolves.toMatchObject({ content: [{ type: 'text', text: 'started' }] });
  });

  it('calls tools through the supervisor and lists them', async () => {
    const { supervisor } = start({ a: fixture });
    await supervisor.ready('a', 15_000);
    const result = await supervisor.callTool('a', 'echo', { message: 'through the supervisor' });
    expect(result.content).toEqual([{ type: 'text', text: 'through the supervisor' }]);
    const tools = await supervisor.listTools('a');
    expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['echo', 'set_latency', 'freeze', 'exit']));
    // Answers reach the connection (and its quality) together, within 50 ms of the first.
    await until(() => supervisor.view('a').quality.successRate !== null, 'the call in the quality score', 2_000);
  });

  it('records every one of many concurrent calls as a quality sample', async () => {
    const { supervisor } = start({ a: fixture });
    await supervisor.ready('a', 15_000);
    const calls = supervisor.connection('a').getSnapshot().context.samples.toArray().filter((sample) => sample.source === 'call').length;
    // Answers arriving together are reported to the actor together; none may be lost on the way.
    await Promise.all(Array.from({ length: 40 }, (_, index) => supervisor.callTool('a', 'echo', { message: `call ${index}` })));
    await waitForConnection(supervisor, 'a', (snapshot) => snapshot.context.samples.toArray().filter((sample) => sample.source === 'call').length === calls + 40, 5_000);
  });

  it('remove() of a server still connecting resolves only once its process is gone', async () => {
    const { supervisor } = start({});
    // A process that never answers the handshake: connecting until the connect timeout.
    supervisor.add(definition('mute', { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] }));
    // Its process as the fleet's process facts know it (there is no session yet).
    const pidNow = (): number | null | undefined => supervisor.view('mute').process?.pid;
    await until(() => typeof pidNow() === 'number', 'the mute server never started', 10_000);
    const pid = pidNow() as number;
    expect(supervisor.state('mute')).toBe('connecting');
    await supervisor.remove('mute');
    // Not "soon after": at once, or a new owner (cluster hand-over) would run beside it.
    expect(isAlive(pid)).toBe(false);
  });

  it('a server removed while its process is still being spawned (POST then DELETE at once) leaves no process behind', async () => {
    const { supervisor } = start({});
    const before = new Set(descendantPids());
    // POST /actors then DELETE at once: the remove lands while the process is being spawned.
    const app = createApp({ supervisor });
    const json = { 'content-type': 'application/json' };
    for (let round = 0; round < 5; round++) {
      const body = JSON.stringify({ id: `early-${round}`, command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] });
      expect((await app.request('/actors', { method: 'POST', headers: json, body })).status).toBe(201);
      expect((await app.request(`/actors/early-${round}`, { method: 'DELETE' })).status).toBe(200);
    }
    const left = await waitForNoDescendants(5_000, process.pid, before);
    expect(left, describePids(left)).toEqual([]);
  });

  it('stop() reaps every process and leaves every connection stopped', async () => {
    const { supervisor } = start({ a: fixture, b: fixture, c: { ...fixture, dependsOn: ['a'] } });
    await Promise.all(['a', 'b', 'c'].map((id) => supervisor.ready(id, 15_000)));
    const pids = ['a', 'b', 'c'].map((id) => pidOf(supervisor, id) as number);
    await supervisor.stop();
    expect(pids.filter(isAlive), describePids(pids)).toEqual([]);
    // The connection actors are gone with the supervisor actor; their last reported states remain.
    expect(supervisor.snapshot.context.states.toJS()).toEqual({ a: 'stopped', b: 'stopped', c: 'stopped' });
    const left = descendantPids();
    expect(left, describePids(left)).toEqual([]);
  });
});

describe('createSupervisor with an invalid config', () => {
  function configErrorOf(raw: unknown): ConfigError {
    const before = descendantPids();
    try {
      createSupervisor(raw as RawConfig);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      // Nothing was started.
      expect(descendantPids()).toEqual(before);
      return error as ConfigError;
    }
    throw new Error('createSupervisor accepted an invalid config');
  }

  it('lists every problem by path', () => {
    const error = configErrorOf({
      mcpServers: {
        good: fixture,
        empty: { command: '' },
        ftp: { url: 'ftp://127.0.0.1/mcp' },
      },
    });
    expect(error.issues).toEqual([
      { path: 'mcpServers.empty.command', message: expect.any(String) },
      { path: 'mcpServers.ftp.url', message: expect.any(String) },
    ]);
    expect(error.message).toContain('mcpServers.empty.command');
    expect(error.message).toContain('mcpServers.ftp.url');
  });

  it('reports settings and supervisor problems by path too', () => {
    const error = configErrorOf({
      supervisor: { maxConcurrentReconnects: 0 },
      mcpServers: { a: { ...fixture, health: { pingTimeoutMs: -1 } } },
    });
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['mcpServers.a.health.pingTimeoutMs', 'supervisor.maxConcurrentReconnects']);
  });

  it('rejects a dependsOn cycle', () => {
    const error = configErrorOf({
      mcpServers: {
        a: { ...fixture, dependsOn: ['b'] },
        b: { ...fixture, dependsOn: ['c'] },
        c: { ...fixture, dependsOn: ['a'] },
      },
    });
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.path).toMatch(/^mcpServers\.[abc]\.dependsOn$/);
    expect(error.issues[0]?.message).toMatch(/cycle/);
  });

  it('rejects unknown and self dependencies', () => {
    const error = configErrorOf({ mcpServers: { a: { ...fixture, dependsOn: ['nope', 'a'] } } });
    expect(error.issues.map((issue) => issue.path)).toEqual(['mcpServers.a.dependsOn.0', 'mcpServers.a.dependsOn.1']);
  });
});
