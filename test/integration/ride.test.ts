// rideCall (src/fleet/ride.ts), the one path of proxied tool calls: each state's branch over
// in-process servers, and SIGKILLs of real stdio servers (fixtures/v2-server.mjs) under calls in
// flight: a read-only call is sent once more and answered, a non-idempotent one fails at once.
import { performance } from 'node:perf_hooks';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { z } from 'zod';
import { parseConfig } from '../../src/config/load.js';
import type { ServerDefinition } from '../../src/config/load.js';
import { ConnectionError } from '../../src/core/errors.js';
import { resolveSettings } from '../../src/core/settings.js';
import type { ConnectionState } from '../../src/core/states.js';
import type { InProcessServer } from '../../src/core/target.js';
import type { CallCompleted, FleetEvent } from '../../src/fleet/events.js';
import { RideError, rideCall } from '../../src/fleet/ride.js';
import type { RideOptions } from '../../src/fleet/ride.js';
import { Supervisor } from '../../src/fleet/supervisor.js';
import type { CreateSupervisorOptions } from '../../src/fleet/supervisor.js';
import { createApp } from '../../src/http/app.js';
import { connectionStateOf } from '../../src/machines/connection.machine.js';
import { createMetrics } from '../../src/observe/metrics.js';
import { v2ServerPath } from '../../fixtures/v2-http.js';
import { describePids, waitForNoDescendants } from '../support/processes.js';
import { until } from '../support/wait.js';

const FAST = resolveSettings({ healthyIntervalMs: 200, stableIntervalMs: 400, pingTimeoutMs: 500, initialBackoffMs: 20, maxBackoffMs: 50 });

const running: Supervisor[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((supervisor) => supervisor.stop()));
});

afterAll(async () => {
  const leftovers = await waitForNoDescendants(5_000);
  expect(leftovers, describePids(leftovers)).toEqual([]);
});

/** Every `call.completed` the supervisor publishes, as they arrive. */
function watch(supervisor: Supervisor): CallCompleted[] {
  const calls: CallCompleted[] = [];
  supervisor.subscribe((event: FleetEvent) => {
    if (event.type === 'call.completed') calls.push(event);
  });
  return calls;
}

async function reach(supervisor: Supervisor, id: string, state: ConnectionState, timeoutMs = 15_000): Promise<void> {
  await waitFor(supervisor.connection(id), (snapshot) => connectionStateOf(snapshot) === state, { timeout: timeoutMs });
}

/** The RideError a ride rejects with (fails the test if it resolves or throws anything else), and how long it took. */
async function refusal(ride: Promise<unknown>): Promise<{ error: RideError; ms: number }> {
  const started = performance.now();
  const error = await ride.then(
    () => new Error('the ride resolved'),
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof RideError)) throw error;
  return { error, ms: performance.now() - started };
}

/** A manual gate: `open()` lets every waiter through. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

describe('rideCall over in-process servers', () => {
  /** The tools: `echo`, and `slow` (read-only, idempotent) / `poke` (neither) that answer after `ms`, or when cancelled. */
  function server(onCall: (tool: string) => void): InProcessServer {
    const mcp = new McpServer({ name: 'ride-test', version: '1.0.0' });
    mcp.registerTool('echo', { inputSchema: { message: z.string() } }, async ({ message }) => ({ content: [{ type: 'text', text: message }] }));
    const slow = (tool: string) => async ({ ms }: { ms: number }, extra: { signal: AbortSignal }) => {
      onCall(tool);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        extra.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      return { content: [{ type: 'text' as const, text: `${tool} ${ms}` }] };
    };
    mcp.registerTool('slow', { inputSchema: { ms: z.number() }, annotations: { readOnlyHint: true, idempotentHint: true } }, slow('slow'));
    mcp.registerTool('poke', { inputSchema: { ms: z.number() }, annotations: { readOnlyHint: false, idempotentHint: false } }, slow('poke'));
    return mcp;
  }

  function definition(id: string, createServer: () => InProcessServer | Promise<InProcessServer>): ServerDefinition {
    return { id, target: { type: 'memory', createServer }, priority: 0, dependsOn: [], required: true, disabled: false, settings: FAST };
  }

  function fleet(definitions: ServerDefinition[], options?: CreateSupervisorOptions): Supervisor {
    const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: definitions }, options);
    running.push(supervisor);
    return supervisor;
  }

  /** One server `a`; `arrivals` lists the slow tools' calls as they reach it. */
  function one(): { supervisor: Supervisor; arrivals: string[]; calls: CallCompleted[] } {
    const arrivals: string[] = [];
    const supervisor = fleet([definition('a', () => server((tool) => arrivals.push(tool)))]);
    return { supervisor, arrivals, calls: watch(supervisor) };
  }

  it('calls a serving server and publishes one call.completed with via', async () => {
    const { supervisor, calls } = one();
    await supervisor.ready('a');
    const result = await rideCall(supervisor, 'a', 'echo', { message: 'hi' }, { via: 'mcp' });
    expect(result.content).toEqual([{ type: 'text', text: 'hi' }]);
    await until(() => calls.length === 1, 'the call.completed event');
    expect(calls[0]).toMatchObject({ id: 'a', tool: 'echo', outcome: 'ok', via: 'mcp' });
    expect(calls[0]).not.toHaveProperty('retried');
    await expect(rideCall(supervisor, 'nobody', 'echo', {})).rejects.toThrow(/no server with id "nobody"/);
  });

  it('a stopped server: not_serving at once with the state, never sent, published as not_connected', async () => {
    const { supervisor, arrivals, calls } = one();
    await supervisor.ready('a');
    supervisor.command('a', 'stop');
    await reach(supervisor, 'a', 'stopped');
    const { error, ms } = await refusal(rideCall(supervisor, 'a', 'slow', { ms: 10 }, { via: 'mcp', timeoutMs: 10_000 }));
    expect(error).toMatchObject({ code: 'not_serving', server: 'a', state: 'stopped', retried: false });
    expect(error.message).toMatch(/"a" is not serving \(stopped\)/);
    expect(ms).toBeLessThan(250);
    expect(arrivals).toEqual([]);
    await until(() => calls.length === 1, 'the call.completed event');
    expect(calls[0]).toMatchObject({ id: 'a', tool: 'slow', outcome: 'not_connected', via: 'mcp' });
  });

  it('a failed server: not_serving at once, with its last error as the reason', async () => {
    const supervisor = fleet([
      definition('broken', () => {
        throw new ConnectionError('permanent', 'the licence key was refused');
      }),
    ]);
    await reach(supervisor, 'broken', 'failed');
    const { error, ms } = await refusal(rideCall(supervisor, 'broken', 'echo', {}, { timeoutMs: 10_000 }));
    expect(error).toMatchObject({ code: 'not_serving', state: 'failed' });
    expect(error.message).toContain('the licence key was refused');
    expect(ms).toBeLessThan(250);
  });

  it('a disabled server: not_serving (stopped) at once', async () => {
    const supervisor = fleet([{ ...definition('off', () => server(() => undefined)), disabled: true }]);
    const { error, ms } = await refusal(rideCall(supervisor, 'off', 'echo', {}, { timeoutMs: 10_000 }));
    expect(error).toMatchObject({ code: 'not_serving', state: 'stopped' });
    expect(ms).toBeLessThan(250);
  });

  it('a server held in connecting: the call waits, then is sent once it serves', async () => {
    const held = gate();
    const supervisor = fleet([definition('late', async () => (await held.wait, server(() => undefined)))]);
    const calls = watch(supervisor);
    await reach(supervisor, 'late', 'connecting');
    let settled = false;
    const ride = rideCall(supervisor, 'late', 'echo', { message: 'waited' }, { timeoutMs: 10_000, via: 'rest' }).finally(() => (settled = true));
    // Still waiting while the server connects (its state is what holds it, not a timer).
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    expect(supervisor.state('late')).toBe('connecting');
    held.open();
    const result = await ride;
    expect(result.content).toEqual([{ type: 'text', text: 'waited' }]);
    await until(() => calls.length === 1, 'the call.completed event');
    expect(calls[0]).toMatchObject({ id: 'late', outcome: 'ok', via: 'rest' });
  });

  it('waitWhileReconnecting false: a connecting server is not_serving at once', async () => {
    const held = gate();
    const supervisor = fleet([definition('late', async () => (await held.wait, server(() => undefined)))]);
    await reach(supervisor, 'late', 'connecting');
    const { error, ms } = await refusal(rideCall(supervisor, 'late', 'echo', { message: 'x' }, { timeoutMs: 10_000, waitWhileReconnecting: false }));
    expect(error).toMatchObject({ code: 'not_serving', state: 'connecting' });
    expect(ms).toBeLessThan(250);
    held.open();
  });

  it('the budget ends while the server is still connecting: not_serving within the budget', async () => {
    const held = gate();
    const supervisor = fleet([definition('late', async () => (await held.wait, server(() => undefined)))]);
    const calls = watch(supervisor);
    await reach(supervisor, 'late', 'connecting');
    const { error, ms } = await refusal(rideCall(supervisor, 'late', 'echo', { message: 'x' }, { timeoutMs: 300, via: 'mcp' }));
    expect(error).toMatchObject({ code: 'not_serving', state: 'connecting', retried: false });
    expect(error.message).toMatch(/did not come back into service within the call's budget of 300 ms/);
    expect(ms).toBeGreaterThanOrEqual(295);
    expect(ms).toBeLessThan(300 + 250);
    await until(() => calls.length === 1, 'the call.completed event');
    expect(calls[0]).toMatchObject({ outcome: 'not_connected', via: 'mcp' });
    expect(calls[0]?.latencyMs).toBeGreaterThanOrEqual(295);
    held.open();
  });

  it('the signal aborts a waiting call at once', async () => {
    const held = gate();
    const supervisor = fleet([definition('late', async () => (await held.wait, server(() => undefined)))]);
    await reach(supervisor, 'late', 'connecting');
    const controller = new AbortController();
    const ride = refusal(rideCall(supervisor, 'late', 'echo', { message: 'x' }, { timeoutMs: 10_000, signal: controller.signal }));
    const aborted = performance.now();
    controller.abort();
    const { error } = await ride;
    expect(error).toMatchObject({ code: 'aborted', server: 'late' });
    expect(performance.now() - aborted).toBeLessThan(250);
    held.open();
  });

  it('the signal aborts a call in flight', async () => {
    const { supervisor, arrivals } = one();
    await supervisor.ready('a');
    const controller = new AbortController();
    const ride = refusal(rideCall(supervisor, 'a', 'slow', { ms: 30_000 }, { signal: controller.signal, retryable: true }));
    await until(() => arrivals.length === 1, 'the call to reach the server');
    controller.abort();
    const { error, ms } = await ride;
    expect(error.code).toBe('aborted');
    expect(ms).toBeLessThan(5_000);
    expect(arrivals).toEqual(['slow']);
  });

  it('a timeout is never re-sent, even for a read-only tool', async () => {
    const { supervisor, arrivals, calls } = one();
    await supervisor.ready('a');
    const { error, ms } = await refusal(rideCall(supervisor, 'a', 'slow', { ms: 30_000 }, { timeoutMs: 200, retryable: true, via: 'mcp' }));
    expect(error).toMatchObject({ code: 'timeout', retried: false });
    expect(ms).toBeLessThan(200 + 500);
    expect(arrivals).toEqual(['slow']);
    await until(() => calls.length === 1, 'the call.completed event');
    expect(calls[0]).toMatchObject({ outcome: 'timeout' });
  });

  it('reconnect during a read-only call: sent once more on the new session, answered, retried', async () => {
    const { supervisor, arrivals, calls } = one();
    await supervisor.ready('a');
    const ride = rideCall(supervisor, 'a', 'slow', { ms: 300 }, { timeoutMs: 10_000, retryable: true, via: 'mcp' });
    await until(() => arrivals.length === 1, 'the call to reach the server');
    supervisor.command('a', 'reconnect');
    const result = await ride;
    expect(result.content).toEqual([{ type: 'text', text: 'slow 300' }]);
    expect(arrivals).toEqual(['slow', 'slow']);
    await until(() => calls.length === 1, 'the call.completed event');
    expect(calls[0]).toMatchObject({ outcome: 'ok', retried: true, via: 'mcp' });
  });

  it('the server closes its end during a read-only call: the re-send waits for a new session', async () => {
    const servers: InProcessServer[] = [];
    const arrivals: string[] = [];
    const supervisor = fleet([
      definition('a', () => {
        const created = server((tool) => arrivals.push(tool));
        servers.push(created);
        return created;
      }),
    ]);
    await supervisor.ready('a');
    const ride = rideCall(supervisor, 'a', 'slow', { ms: 200 }, { timeoutMs: 10_000, retryable: true });
    await until(() => arrivals.length === 1, 'the call to reach the server');
    await servers[0]?.close();
    const result = await ride;
    expect(result.content).toEqual([{ type: 'text', text: 'slow 200' }]);
    // Sent to the first server, then once to the second: never again to the closed one.
    expect(arrivals).toEqual(['slow', 'slow']);
    expect(servers.length).toBe(2);
  });

  it('reconnect during a call that may not be re-sent: connection_lost at once, sent once', async () => {
    const { supervisor, arrivals, calls } = one();
    await supervisor.ready('a');
    const ride = refusal(rideCall(supervisor, 'a', 'poke', { ms: 30_000 }, { timeoutMs: 20_000, retryable: false, via: 'mcp' }));
    await until(() => arrivals.length === 1, 'the call to reach the server');
    const lostAt = performance.now();
    supervisor.command('a', 'reconnect');
    const { error } = await ride;
    expect(performance.now() - lostAt).toBeLessThan(500);
    expect(error).toMatchObject({ code: 'connection_lost', server: 'a', retried: false });
    expect(error.message).toMatch(/not re-sent because poke is not marked read-only or idempotent/);
    await supervisor.ready('a');
    expect(arrivals).toEqual(['poke']);
    await until(() => calls.length === 1, 'the call.completed event');
    expect(calls[0]).toMatchObject({ outcome: 'connection_lost', via: 'mcp' });
    expect(calls[0]).not.toHaveProperty('retried');
  });

  it('a server quarantined past the budget: not_serving at once, with the quarantine as the reason', async () => {
    const servers: InProcessServer[] = [];
    const supervisor = fleet(
      [
        definition('flappy', () => {
          const created = server(() => undefined);
          servers.push(created);
          return created;
        }),
      ],
      { flap: { flapLimit: 0, quarantineBaseMs: 60_000 } },
    );
    await supervisor.ready('flappy');
    await servers[0]?.close();
    await until(() => supervisor.view('flappy').quarantinedUntil !== null, 'the quarantine');
    const { error, ms } = await refusal(rideCall(supervisor, 'flappy', 'echo', { message: 'x' }, { timeoutMs: 5_000 }));
    expect(error).toMatchObject({ code: 'not_serving', state: 'reconnecting' });
    expect(error.message).toMatch(/quarantined as flapping until .* after the call's budget of 5000 ms ends/);
    expect(ms).toBeLessThan(250);
  });
});

describe('rideCall over real stdio servers killed under the call', () => {
  const HEALTH = { healthyIntervalMs: 300, stableIntervalMs: 600, degradedIntervalMs: 200, pingTimeoutMs: 500, initialBackoffMs: 20, maxBackoffMs: 100, connectTimeoutMs: 10_000 };

  async function stdioServer(): Promise<{ supervisor: Supervisor; calls: CallCompleted[]; arrived: (tool: string) => number }> {
    const supervisor = new Supervisor(
      parseConfig({
        supervisor: { health: HEALTH },
        mcpServers: { s: { command: process.execPath, args: [v2ServerPath, 'stdio', 'dual'], env: { FIXTURE_LOG_CALLS: '1' } } },
      }),
    );
    running.push(supervisor);
    const calls = watch(supervisor);
    await supervisor.ready('s', 15_000);
    const arrived = (tool: string): number => supervisor.logs('s', 1_000).filter((line) => line.text.includes(`] call ${tool} `)).length;
    return { supervisor, calls, arrived };
  }

  /** SIGKILLs the server's process group once `tool`'s call has reached it. */
  async function killWhenArrived(supervisor: Supervisor, arrived: (tool: string) => number, tool: string): Promise<number> {
    await until(() => arrived(tool) === 1, `the ${tool} call to reach the server`, 10_000);
    const pid = supervisor.view('s').process?.pid;
    supervisor.killProcesses('s');
    expect(pid).toEqual(expect.any(Number));
    return performance.now();
  }

  it('SIGKILL during a read-only call: re-sent once to the new process, answered, retried: true, counted as retried_ok', async () => {
    const { supervisor, calls, arrived } = await stdioServer();
    const metrics = createMetrics(supervisor, { defaultMetrics: false });
    try {
      const options: RideOptions = { timeoutMs: 20_000, retryable: true, via: 'mcp' };
      const ride = rideCall(supervisor, 's', 'slow_read', { ms: 500 }, options);
      const firstPid = supervisor.view('s').process?.pid;
      await killWhenArrived(supervisor, arrived, 'slow_read');
      const result = await ride;
      expect(result.content).toEqual([{ type: 'text', text: 'read 500' }]);
      expect(arrived('slow_read')).toBe(2);
      expect(supervisor.view('s').process?.pid).not.toBe(firstPid);
      await until(() => calls.length === 1, 'the call.completed event');
      expect(calls[0]).toMatchObject({ id: 's', tool: 'slow_read', outcome: 'ok', retried: true, via: 'mcp' });
      const text = await metrics.render();
      expect(text).toMatch(/^mcp_gateway_calls_total\{server="s",outcome="retried_ok"\} 1$/m);
      expect(text).toMatch(/^mcp_tool_calls_total\{server="s",outcome="ok"\} 1$/m);
    } finally {
      metrics.close();
    }
  });

  it('SIGKILL during a non-idempotent call: connection_lost at once, never re-sent', async () => {
    const { supervisor, calls, arrived } = await stdioServer();
    const ride = refusal(rideCall(supervisor, 's', 'slow_write', { ms: 30_000 }, { timeoutMs: 30_000, retryable: false, via: 'mcp' }));
    const killedAt = await killWhenArrived(supervisor, arrived, 'slow_write');
    const { error } = await ride;
    expect(performance.now() - killedAt).toBeLessThan(1_500);
    expect(error).toMatchObject({ code: 'connection_lost', server: 's', retried: false });
    await supervisor.ready('s', 15_000);
    expect(arrived('slow_write')).toBe(1);
    await until(() => calls.length === 1, 'the call.completed event');
    expect(calls[0]).toMatchObject({ outcome: 'connection_lost', via: 'mcp' });
  });

  it('SIGKILL, then a new call: it waits through reconnecting and is answered', async () => {
    const { supervisor } = await stdioServer();
    const pid = supervisor.view('s').process?.pid;
    supervisor.killProcesses('s');
    await until(() => supervisor.state('s') !== 'healthy', 'the server to leave service');
    const result = await rideCall(supervisor, 's', 'echo', { message: 'after the kill' }, { timeoutMs: 15_000 });
    expect(result.content).toEqual([{ type: 'text', text: 'after the kill' }]);
    expect(supervisor.view('s').process?.pid).not.toBe(pid);
  });

  it('REST: a read-only call survives a SIGKILL (re-sent once); a non-idempotent one is 503 connection_lost', async () => {
    const { supervisor, calls, arrived } = await stdioServer();
    const metrics = createMetrics(supervisor, { defaultMetrics: false });
    const app = createApp({ supervisor });
    // The retry rule reads the tool's annotations from the cached list.
    expect((await app.request('/actors/s/tools')).status).toBe(200);
    const post = { method: 'POST', headers: { 'content-type': 'application/json' } };
    const read = app.request('/actors/s/tools/slow_read', { ...post, body: JSON.stringify({ ms: 500 }) });
    await killWhenArrived(supervisor, arrived, 'slow_read');
    const readResponse = await read;
    expect(readResponse.status).toBe(200);
    expect(await readResponse.json()).toMatchObject({ content: [{ type: 'text', text: 'read 500' }] });

    await supervisor.ready('s', 15_000);
    expect((await app.request('/actors/s/tools')).status).toBe(200);
    const write = app.request('/actors/s/tools/slow_write', { ...post, body: JSON.stringify({ ms: 30_000 }) });
    await until(() => arrived('slow_write') === 1, 'the slow_write call to reach the server', 10_000);
    supervisor.killProcesses('s');
    const writeResponse = await write;
    expect(writeResponse.status).toBe(503);
    expect(await writeResponse.json()).toMatchObject({ error: { code: 'connection_lost', retried: false } });
    await until(() => calls.length === 2, 'two call.completed events');
    expect(calls.map(({ tool, outcome, via, retried }) => ({ tool, outcome, via, retried }))).toEqual([
      { tool: 'slow_read', outcome: 'ok', via: 'rest', retried: true },
      { tool: 'slow_write', outcome: 'connection_lost', via: 'rest', retried: undefined },
    ]);
    // REST calls are tool calls, not gateway calls.
    const text = await metrics.render();
    metrics.close();
    expect(text).toMatch(/^mcp_tool_calls_total\{server="s",outcome="connection_lost"\} 1$/m);
    expect(text).not.toMatch(/^mcp_gateway_calls_total\{/m);
  });
});
