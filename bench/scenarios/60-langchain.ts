// mcp-supervisor next to @langchain/mcp-adapters (`MultiServerMCPClient`), same stdio fixture
// server, same faults, same run:
//   0. no fault: what a call costs through each;
//   1. SIGSTOP the server: who notices, when, and what a tool call answers meanwhile;
//   2. SIGKILL the server: when does a tool call work again, and what does it answer in between;
//   3. closing the clients: does anything outlive close()?
// Every process here is a child of this one: stopped ones are SIGCONTed, every client is closed,
// and anything left over is killed and reported as a row.
//
// What langchain does (node_modules/@langchain/mcp-adapters/dist, version in package-lock.json):
// - no health checks at all; the only reaction to trouble is `restart` (stdio) / `reconnect`
//   (SSE), driven by `transport.onclose`, i.e. by the process exiting (client.js
//   `_setupStdioRestart`, `_attemptReconnect`). A stopped process never exits.
// - tools are `DynamicStructuredTool`s closing over the SDK `Client` they were loaded from
//   (tools.js `loadMcpTools` → `_callTool({ client })`): after a restart, tools fetched before keep
//   calling the dead client. The restart first deletes the old connection (`#cleanupServerResources`)
//   and only then waits `delayMs`, so a `getTools()` in that gap opens a second connection of its own.
// - a call without a timeout waits for the SDK default (60 s, protocol.js
//   DEFAULT_REQUEST_TIMEOUT_MSEC); `defaultToolTimeout` or `invoke(args, { timeout })` bound it.
// - `close()` closes each SDK client while its connection is still registered, so the restart
//   wrapper sees a "crash" and respawns the server after `delayMs` (connection.js `delete`).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MultiServerMCPClient } from '@langchain/mcp-adapters';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { DEFAULT_STDIO_TEARDOWN } from '../../src/runtime/transports/stdio.js';
import { startService } from '../../src/service/service.js';
import type { RunningService } from '../../src/service/service.js';
import { DEFAULT_SETTINGS } from '../../src/core/settings.js';
import type { FleetEvent } from '../../src/fleet/events.js';
import { alive, childProcesses, percentile, round, until } from '../harness.js';
import type { Row, Scenario } from '../harness.js';

const fixture = fileURLToPath(new URL('../../fixtures/fixture-server.mjs', import.meta.url));
const ID = 'fx';
/** The fast health profile: 1 s probes. */
const FAST = { healthyIntervalMs: 1_000, stableIntervalMs: 1_000, degradedIntervalMs: 1_000, pingTimeoutMs: 1_000 };
/** The longest we wait for any one answer before calling it "no answer". */
const CAP_MS = 15_000;
/** langchain `restart.delayMs` (its default is 1000, like our initialBackoffMs). */
const RESTART_DELAY_MS = 1_000;
const NO_FAULT_CALLS = 500;
/** How long the tool handles fetched before a SIGKILL are retried. */
const OLD_HANDLE_RETRY_MS = 10_000;

type Outcome = { kind: 'ok' | 'error' | 'pending'; ms: number; detail: string };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function signal(pid: number | undefined, name: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** Fixture processes that are children of this process; `leader` for our own (detached) stdio children. */
function fixtureChildren(): Array<{ pid: number; leader: boolean }> {
  return childProcesses()
    .filter((child) => child.args.includes(fixture))
    .map((child) => ({ pid: child.pid, leader: child.pid === child.pgid }));
}

/** Settles `work` into an outcome, or `pending` after `capMs` (the work itself keeps running). */
async function timed(work: () => Promise<unknown>, capMs: number): Promise<Outcome> {
  const started = performance.now();
  const elapsed = (): number => round(performance.now() - started, 0);
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'pending', ms: elapsed(), detail: `no answer within ${capMs / 1_000} s` }), capMs);
  });
  try {
    return await Promise.race([
      work().then(
        (value) => ({ kind: 'ok' as const, ms: elapsed(), detail: typeof value === 'string' ? value : JSON.stringify(value).slice(0, 120) }),
        (error: unknown) => ({ kind: 'error' as const, ms: elapsed(), detail: `${(error as Error).name}: ${(error as Error).message}`.slice(0, 240) }),
      ),
      cap,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** One tool call through the service's HTTP API; resolves with the status and error code, never rejects. */
async function httpCall(url: string, query = ''): Promise<Outcome & { status: number }> {
  const started = performance.now();
  try {
    const response = await fetch(`${url}/actors/${ID}/tools/echo${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'hello' }),
      signal: AbortSignal.timeout(CAP_MS),
    });
    const body = (await response.json()) as { error?: { code: string; message: string } };
    const ms = round(performance.now() - started, 0);
    if (response.ok) return { kind: 'ok', status: response.status, ms, detail: `${response.status}` };
    return { kind: 'error', status: response.status, ms, detail: `${response.status} ${body.error?.code}: ${body.error?.message}` };
  } catch (error) {
    return { kind: 'pending', status: 0, ms: round(performance.now() - started, 0), detail: `no answer within ${CAP_MS / 1_000} s (${(error as Error).name})` };
  }
}

const describe = (outcome: Outcome): string => (outcome.kind === 'pending' ? outcome.detail : `${outcome.kind}: ${outcome.detail}`);
const msOf = (outcome: Outcome): number => (outcome.kind === 'pending' ? Number.NaN : outcome.ms);

async function pidOf(client: MultiServerMCPClient): Promise<number | undefined> {
  const sdkClient = await client.getClient(ID);
  return (sdkClient?.transport as StdioClientTransport | undefined)?.pid ?? undefined;
}

async function echoOf(client: MultiServerMCPClient): Promise<Awaited<ReturnType<MultiServerMCPClient['getTools']>>[number]> {
  const echo = (await client.getTools()).find((tool) => tool.name === 'echo');
  if (!echo) throw new Error('langchain: no echo tool');
  return echo;
}

/** Keeps `restart` from respawning the server when the client itself closes it (see the header). */
function disarmRestart(client: MultiServerMCPClient): void {
  (client as unknown as { _attemptReconnect: () => Promise<void> })._attemptReconnect = async () => undefined;
}

async function withCap<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export const scenario: Scenario = {
  name: 'langchain mcp-adapters vs mcp-supervisor',
  async run(): Promise<Row[]> {
    const rows: Row[] = [];
    const directory = await mkdtemp(join(tmpdir(), 'mcp-supervisor-bench-langchain-'));
    const configPath = join(directory, 'mcp.json');
    await writeFile(
      configPath,
      `${JSON.stringify({ supervisor: { health: FAST }, mcpServers: { [ID]: { command: process.execPath, args: [fixture, 'stdio'] } } }, null, 2)}\n`,
    );
    const stdio = { transport: 'stdio' as const, command: process.execPath, args: [fixture, 'stdio'], stderr: 'ignore' as const };
    // A: with its recovery option on. B: the defaults.
    const langchainA = new MultiServerMCPClient({ mcpServers: { [ID]: { ...stdio, restart: { enabled: true, maxAttempts: 5, delayMs: RESTART_DELAY_MS } } } });
    const langchainB = new MultiServerMCPClient({ mcpServers: { [ID]: stdio } });
    const stopped = new Set<number>();
    let service: RunningService | undefined;
    const scenarioStarted = Date.now();
    let probes = 0;

    try {
      service = await startService({ configPath, port: 0 });
      const { supervisor, url } = service;
      const transitions: Array<Extract<FleetEvent, { type: 'state.changed' }>> = [];
      const unsubscribe = supervisor.subscribe((event) => {
        if (event.type === 'state.changed' && event.id === ID) transitions.push(event);
        if (event.type === 'probe.completed' && event.id === ID) probes += 1;
      });
      /** ms from `t0` (epoch ms) until the first transition to `to` at or after it. */
      const transitionAfter = async (t0: number, to: string, timeoutMs: number): Promise<number> => {
        const find = () => transitions.find((event) => event.at >= t0 && event.to === to);
        try {
          await until(() => find() !== undefined, timeoutMs, 10);
        } catch {
          return Number.NaN;
        }
        return (find()?.at ?? Number.NaN) - t0;
      };
      const supervisorPid = (): number | undefined => supervisor.connection(ID).getSnapshot().context.session?.pid;

      await supervisor.ready(ID, 20_000);
      let echoA = await echoOf(langchainA);
      const echoB = await echoOf(langchainB);

      // 0. No fault: the cost of a call through each, one in flight.
      {
        const rawA = await langchainA.getClient(ID);
        if (!rawA) throw new Error('langchain: no client');
        const measure = async (call: () => Promise<unknown>): Promise<number[]> => {
          for (let index = 0; index < 50; index += 1) await call();
          const samples: number[] = [];
          for (let index = 0; index < NO_FAULT_CALLS; index += 1) {
            const started = performance.now();
            await call();
            samples.push(performance.now() - started);
          }
          return samples;
        };
        const scenario = `no fault: echo ×${NO_FAULT_CALLS}, 1 in flight`;
        const invoke = await measure(() => echoA.invoke({ message: 'hi' }));
        const raw = await measure(() => rawA.callTool({ name: 'echo', arguments: { message: 'hi' } }));
        const library = await measure(() => supervisor.callTool(ID, 'echo', { message: 'hi' }));
        rows.push(
          { scenario, metric: 'langchain tool.invoke p50', value: round(percentile(invoke, 50), 3), unit: 'ms', note: 'DynamicStructuredTool: schema validation, callbacks, content conversion' },
          { scenario, metric: 'langchain getClient().callTool p50', value: round(percentile(raw, 50), 3), unit: 'ms', note: 'the plain SDK Client langchain holds: zero overhead, no background traffic' },
          { scenario, metric: 'supervisor.callTool p50', value: round(percentile(library, 50), 3), unit: 'ms', note: 'library, in process; HTTP API costs more, see the proxy overhead scenario' },
        );
      }

      // 1. SIGSTOP: both servers stopped at once.
      {
        const scenario = 'SIGSTOP the server (fast profile: 1 s probes, 1 s ping timeout)';
        const pidS = supervisorPid();
        const pidA = await pidOf(langchainA);
        if (pidS === undefined || pidA === undefined) throw new Error('no server pid');
        const t0 = Date.now();
        stopped.add(pidS);
        stopped.add(pidA);
        signal(pidS, 'SIGSTOP');
        signal(pidA, 'SIGSTOP');

        const supervisorSide = async (): Promise<void> => {
          const inFlight = httpCall(url); // default call deadline 60 s
          const degraded = await transitionAfter(t0, 'degraded', 10_000);
          const zombie = await transitionAfter(t0, 'zombie', 10_000);
          const reconnecting = await transitionAfter(t0, 'reconnecting', 10_000);
          const during = await httpCall(url);
          const waiting = await httpCall(url, `?waitForReady=${CAP_MS - 1_000}`);
          const firstOk = Date.now() - t0;
          const healthy = await transitionAfter(t0, 'healthy', 10_000);
          const atStop = await inFlight;
          const reason = transitions.find((event) => event.at >= t0 && event.to === 'zombie')?.reason;
          const { pingTimeoutMs, healthyIntervalMs, stableIntervalMs, degradedIntervalMs, zombieAfter } = { ...DEFAULT_SETTINGS, ...FAST };
          const interval = Math.max(healthyIntervalMs, stableIntervalMs);
          const zombieBound = interval + pingTimeoutMs + (zombieAfter - 1) * (degradedIntervalMs + pingTimeoutMs);
          const teardown = DEFAULT_STDIO_TEARDOWN.stdinGraceMs + DEFAULT_STDIO_TEARDOWN.termGraceMs;
          rows.push(
            { scenario, metric: 'mcp-supervisor: degraded after', value: degraded, unit: 'ms', bound: `≤ ${interval + pingTimeoutMs} ms + timer slack (probe interval + ping timeout)`, note: 'first missed probe' },
            { scenario, metric: 'mcp-supervisor: zombie after', value: zombie, unit: 'ms', bound: `≤ ${zombieBound} ms + timer slack (zombieAfter ${zombieAfter} missed probes)`, note: reason ?? '' },
            {
              scenario,
              metric: 'mcp-supervisor: reconnecting after',
              value: reconnecting,
              unit: 'ms',
              bound: `≤ zombie + ${teardown} ms (stdin grace + SIGTERM grace)`,
              note: `stopped process ${alive(pidS) ? 'STILL ALIVE' : 'torn down'} (SIGTERM+SIGCONT to its group), a fresh one spawned`,
            },
            { scenario, metric: 'mcp-supervisor: healthy again after', value: healthy, unit: 'ms', bound: `≤ reconnecting + ${DEFAULT_SETTINGS.initialBackoffMs} ms backoff + connect` },
            { scenario, metric: 'mcp-supervisor: call in flight at SIGSTOP answered after', value: msOf(atStop), unit: 'ms', note: describe(atStop) },
            { scenario, metric: 'mcp-supervisor: call while reconnecting answered in', value: msOf(during), unit: 'ms', note: describe(during) },
            {
              scenario,
              metric: 'mcp-supervisor: first successful call after',
              value: waiting.kind === 'ok' ? firstOk : Number.NaN,
              unit: 'ms',
              note: `?waitForReady sent once reconnecting was seen, answered in ${waiting.ms} ms: ${describe(waiting)}`,
            },
          );
        };

        const langchainSide = async (): Promise<void> => {
          const plain = echoA.invoke({ message: 'during stop' });
          const plainOutcome = timed(() => plain, CAP_MS);
          const bounded = await timed(() => echoA.invoke({ message: 'during stop, bounded' }, { timeout: 5_000 }), CAP_MS);
          const first = await plainOutcome;
          rows.push(
            {
              scenario,
              metric: 'langchain: noticed',
              value: Number.NaN,
              unit: '',
              note: `never: no health checks, no event; restart.enabled reacts only to process exit, and the stopped process is ${alive(pidA) ? 'still alive' : 'gone'}`,
            },
            { scenario, metric: 'langchain: tool.invoke (no timeout) answered after', value: msOf(first), unit: 'ms', note: `${describe(first)}; the SDK default request timeout is 60 s` },
            { scenario, metric: 'langchain: tool.invoke({ timeout: 5000 }) answered after', value: msOf(bounded), unit: 'ms', note: describe(bounded) },
          );
          // Let the server go on: the pending call gets its answer from the same process and session.
          const resumed = Date.now();
          signal(pidA, 'SIGCONT');
          stopped.delete(pidA);
          const late = await timed(() => plain, 5_000);
          rows.push({
            scenario,
            metric: 'langchain: pending call answered after SIGCONT',
            value: late.kind === 'pending' ? Number.NaN : Date.now() - resumed,
            unit: 'ms',
            note: `${describe(late)}; nothing was restarted, the session survived (mcp-supervisor would have replaced this process)`,
          });
        };

        await Promise.all([supervisorSide(), langchainSide()]);
        // The supervisor tears its stopped child down itself; make sure, whatever happened.
        if (alive(pidS)) signal(pidS, 'SIGCONT');
        stopped.delete(pidS);
        await supervisor.ready(ID, 10_000);
      }

      // 2. SIGKILL: mcp-supervisor and langchain with restart at once, then langchain with the defaults.
      {
        const scenario = 'SIGKILL the server';
        const pidS = supervisorPid();
        const pidA = await pidOf(langchainA);
        const pidB = await pidOf(langchainB);
        if (pidS === undefined || pidA === undefined || pidB === undefined) throw new Error('no server pid');
        const attempts = supervisor.view(ID).attempts;
        const backoffCap = Math.min(DEFAULT_SETTINGS.maxBackoffMs, DEFAULT_SETTINGS.initialBackoffMs * DEFAULT_SETTINGS.multiplier ** attempts);

        const supervisorSide = async (): Promise<void> => {
          const t0 = Date.now();
          signal(pidS, 'SIGKILL');
          const right = await httpCall(url);
          const reconnecting = await transitionAfter(t0, 'reconnecting', 5_000);
          const waiting = await httpCall(url, `?waitForReady=${CAP_MS - 1_000}`);
          const firstOk = Date.now() - t0;
          const healthy = await transitionAfter(t0, 'healthy', 10_000);
          rows.push(
            { scenario, metric: 'mcp-supervisor: reconnecting after', value: reconnecting, unit: 'ms', note: 'child exit is hard evidence: no probe needed' },
            { scenario, metric: 'mcp-supervisor: call right after SIGKILL answered in', value: msOf(right), unit: 'ms', note: describe(right) },
            { scenario, metric: 'mcp-supervisor: healthy again after', value: healthy, unit: 'ms', bound: `≤ backoff ${round(backoffCap, 0)} ms (attempt ${attempts}) + connect` },
            { scenario, metric: 'mcp-supervisor: first successful call after', value: waiting.kind === 'ok' ? firstOk : Number.NaN, unit: 'ms', note: `?waitForReady: ${describe(waiting)}; same URL, nothing to re-fetch` },
          );
        };

        const langchainRestartSide = async (): Promise<void> => {
          const t0 = performance.now();
          signal(pidA, 'SIGKILL');
          const right = await timed(() => echoA.invoke({ message: 'after kill' }), CAP_MS);
          // What a caller holding the tools does: retry the same tool; and what a careful one does: re-fetch the tools.
          let oldTries = 0;
          let oldWorked: number | undefined;
          let oldLast = '';
          let fresh: { ms: number; detail: string } | undefined;
          while (performance.now() - t0 < OLD_HANDLE_RETRY_MS) {
            await sleep(200);
            oldTries += 1;
            const old = await timed(() => echoA.invoke({ message: 'old handle' }), 5_000);
            if (old.kind === 'ok') oldWorked ??= performance.now() - t0;
            else oldLast = old.detail;
            if (!fresh) {
              const again = await timed(async () => (await echoOf(langchainA)).invoke({ message: 'fresh handle' }), 5_000);
              if (again.kind === 'ok') fresh = { ms: performance.now() - t0, detail: again.detail };
            }
          }
          const processes = fixtureChildren().filter((child) => !child.leader && child.pid !== pidB).length;
          rows.push(
            { scenario, metric: 'langchain (restart on): call right after SIGKILL answered in', value: msOf(right), unit: 'ms', note: describe(right) },
            {
              scenario,
              metric: 'langchain (restart on): tool fetched before the kill works again after',
              value: oldWorked === undefined ? Number.NaN : round(oldWorked, 0),
              unit: 'ms',
              note:
                oldWorked === undefined
                  ? `never within ${OLD_HANDLE_RETRY_MS / 1_000} s (${oldTries} tries, last: ${oldLast}): the tool closes over the dead SDK Client`
                  : `after ${oldTries} tries`,
            },
            {
              scenario,
              metric: 'langchain (restart on): call through re-fetched getTools() works after',
              value: fresh ? round(fresh.ms, 0) : Number.NaN,
              unit: 'ms',
              note: fresh
                ? `the caller has to re-fetch tools (and rebuild its agent); this getTools() connected on its own, before restart's ${RESTART_DELAY_MS} ms delay was over, because restart unregisters the dead connection first`
                : `not within ${OLD_HANDLE_RETRY_MS / 1_000} s`,
            },
            {
              scenario,
              metric: 'langchain (restart on): server processes afterwards',
              value: processes,
              unit: '',
              bound: '1',
              note: processes > 1 ? 'getTools() during the restart delay opened its own connection, then the restart opened another' : '',
            },
          );
          echoA = await echoOf(langchainA);
        };

        await Promise.all([supervisorSide(), langchainRestartSide()]);

        // langchain with the defaults (no restart).
        const t0 = performance.now();
        signal(pidB, 'SIGKILL');
        const right = await timed(() => echoB.invoke({ message: 'after kill' }), CAP_MS);
        await sleep(3_000);
        const refetched = await echoOf(langchainB);
        const later = await timed(() => refetched.invoke({ message: '3 s later' }), 5_000);
        const manualStarted = performance.now();
        await langchainB.close();
        const manual = await timed(async () => (await echoOf(langchainB)).invoke({ message: 'after close() + getTools()' }), CAP_MS);
        rows.push(
          { scenario, metric: 'langchain (defaults): call right after SIGKILL answered in', value: msOf(right), unit: 'ms', note: describe(right) },
          {
            scenario,
            metric: 'langchain (defaults): call via getTools() 3 s later',
            value: later.kind === 'ok' ? round(performance.now() - t0, 0) : Number.NaN,
            unit: 'ms',
            note: `${describe(later)}; ${refetched === echoB ? 'getTools() returned the same stale tool: the dead connection stays registered' : 'getTools() returned a new tool'}`,
          },
          {
            scenario,
            metric: 'langchain (defaults): manual close() + getTools() → call works in',
            value: manual.kind === 'ok' ? round(performance.now() - manualStarted, 0) : Number.NaN,
            unit: 'ms',
            note: `${describe(manual)}; recovery is the caller's job`,
          },
        );
      }

      // The supervisor's background traffic, for the record.
      rows.push({
        scenario: 'moving parts',
        metric: 'mcp-supervisor probes per minute (fast profile)',
        value: round((probes / (Date.now() - scenarioStarted)) * 60_000, 0),
        unit: '/min',
        note: 'langchain sends none (and notices nothing); default profile probes every 15–60 s. Its API is one object and getTools(); ours adds a service, a state machine per server and an event stream',
      });
      unsubscribe();

      // 3. Closing. The service first (our children are process-group leaders), then langchain.
      await service.close();
      service = undefined;
      await langchainB.close();
      const before = new Set(fixtureChildren().map((child) => child.pid));
      await langchainA.close(); // as a user would; restart is still armed
      // Watch one restart delay and a spawn for processes that come back.
      const respawned = new Set<number>();
      const watchUntil = performance.now() + RESTART_DELAY_MS + 2_500;
      while (performance.now() < watchUntil) {
        for (const child of fixtureChildren()) if (!before.has(child.pid)) respawned.add(child.pid);
        await sleep(100);
      }
      rows.push({
        scenario: 'close()',
        metric: 'langchain (restart on): processes respawned after close()',
        value: respawned.size,
        unit: '',
        bound: '0',
        note:
          respawned.size > 0
            ? `close() closes each client while it is still registered, so restart takes it for a crash and respawns it after delayMs (pid ${[...respawned].join(', ')}; one per registered connection, more when a respawn's cleanup closes another); closed again below with restart disarmed`
            : '',
      });
      return rows;
    } finally {
      for (const pid of stopped) signal(pid, 'SIGCONT');
      await service?.close().catch(() => undefined);
      // Restart chains already under way still spawn once their delay is over: close until none come back.
      for (const client of [langchainA, langchainB]) disarmRestart(client);
      for (let round = 0; round < 4; round += 1) {
        for (const client of [langchainA, langchainB]) await withCap(client.close().catch(() => undefined), 10_000);
        await sleep(RESTART_DELAY_MS + 1_500);
        if (fixtureChildren().length === 0) break;
      }
      // Anything still here is a leak: kill it and say so.
      const leftovers = fixtureChildren();
      for (const child of leftovers) signal(child.pid, 'SIGKILL');
      if (leftovers.length > 0) {
        await until(() => leftovers.every((child) => !alive(child.pid)), 5_000).catch(() => undefined);
        rows.push({ scenario: 'cleanup', metric: 'leftover server processes killed', value: leftovers.length, unit: '', bound: '0', note: leftovers.map((child) => child.pid).join(', ') });
      }
      await rm(directory, { recursive: true, force: true });
    }
  },
};
