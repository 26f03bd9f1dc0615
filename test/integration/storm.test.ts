// The reconnection storm on real processes: 50 stdio fixture servers under one supervisor with a
// cap of 4, every process SIGKILLed at once. The cap must hold at first start and through the
// storm, the supervisor must panic (more than half lost within 10 s) yet keep admitting, and
// every process, old and new, must be reaped.
//
// On the 2-CPU machine this was written on, one run takes 10-15 s: 4.4-7 s until all 50 are
// healthy at first start, 5.7-8.4 s from the kill to all 50 healthy again (about half of the
// fleet admitted one at a time while in panic), max 4 connecting at once in both phases, panic
// ~150 ms after the kill with 26/50 lost.
import { afterAll, describe, expect, it } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { connectionStateOf } from '../../src/machines/connection.machine.js';
import type { ConnectionSnapshot } from '../../src/machines/connection.machine.js';
import { isPanicking } from '../../src/machines/supervisor.machine.js';
import type { ConnectionState } from '../../src/core/states.js';
import type { FleetEvent as SupervisorEmitted } from '../../src/fleet/events.js';
import { createSupervisor } from '../../src/fleet/supervisor.js';
import type { Supervisor } from '../../src/fleet/supervisor.js';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { descendantPids, describePids, isAlive, waitForNoDescendants } from '../support/processes.js';
import { until } from '../support/wait.js';

const SERVERS = 50;
const CAP = 4;
const ids = Array.from({ length: SERVERS }, (_, index) => `s${String(index).padStart(2, '0')}`);
const idSet = new Set(ids);

/** The most connections in `connecting` at once, over a stream of per-connection states. */
class ConnectingMeter {
  private readonly states = new Map<string, ConnectionState>();
  max = 0;

  observe(id: string, state: ConnectionState): void {
    this.states.set(id, state);
    this.measure([...this.states.values()]);
  }

  /** Counts a full picture of every connection's state at one instant. */
  measure(states: readonly ConnectionState[]): void {
    this.max = Math.max(this.max, states.filter((state) => state === 'connecting').length);
  }

  /** Starts a new phase: the maximum from here on. */
  resetMax(): void {
    this.max = 0;
  }
}


let supervisor: Supervisor | undefined;

afterAll(async () => {
  await supervisor?.stop().catch(() => undefined);
  const leftovers = await waitForNoDescendants(5_000);
  expect(leftovers, describePids(leftovers)).toEqual([]);
});

describe('reconnection storm on 50 real stdio servers', () => {
  it('holds the cap, panics, recovers every server and reaps every process', { timeout: 180_000 }, async () => {
    // The real actor states, independent of the supervisor's own bookkeeping: at every connection
    // snapshot inspected, every connection's current snapshot is read. (The order of the inspection
    // events alone would mislead: a child's `sendParent` runs, and the supervisor may grant the freed
    // slot to the next one, before the child's own new snapshot is inspected.)
    const inspected = new ConnectingMeter();
    const refs = new Map<string, AnyActorRef>();
    const inspect = (event: InspectionEvent): void => {
      const ref = event.actorRef as AnyActorRef;
      if (!idSet.has(ref.id)) return;
      // Each connection runs in an actor system of its own, under a supervisor child of the same
      // id that only carries events: the connection is the one whose snapshot has a state value.
      if (event.type !== '@xstate.snapshot') return;
      if ((event.snapshot as { value?: unknown }).value !== undefined) refs.set(ref.id, ref);
      inspected.measure([...refs.values()].map((child) => connectionStateOf(child.getSnapshot() as ConnectionSnapshot)));
    };
    // The supervisor's published event stream: what HTTP, metrics and logs see.
    const streamed = new ConnectingMeter();
    const events: SupervisorEmitted[] = [];

    const started = Date.now();
    const running = createSupervisor(
      {
        supervisor: {
          maxConcurrentReconnects: CAP,
          health: {
            healthyIntervalMs: 500,
            stableIntervalMs: 1_000,
            pingTimeoutMs: 1_000,
            degradedIntervalMs: 300,
            initialBackoffMs: 50,
            maxBackoffMs: 500,
            connectTimeoutMs: 15_000,
          },
        },
        mcpServers: Object.fromEntries(ids.map((id) => [id, { command: process.execPath, args: [fixtureServerPath, 'stdio'] }])),
      },
      { inspect },
    );
    supervisor = running;
    running.subscribe(
      (event) => {
        events.push(event);
        if (event.type === 'state.changed') streamed.observe(event.id, event.to);
      },
      { bufferSize: 100_000 },
    );

    const pidOf = (id: string): number | undefined => running.connection(id).getSnapshot().context.session?.pid;
    /** The stream is delivered asynchronously: waits until it has every server's healthy transition since `since`. */
    const streamCaughtUp = (since: number): Promise<void> =>
      until(
        () => ids.every((id) => events.some((event) => event.type === 'state.changed' && event.id === id && event.to === 'healthy' && event.at >= since)),
        () => 'event stream behind',
        5_000,
        25,
      );
    const notHealthy = (): string =>
      running
        .views()
        .filter((view) => view.state !== 'healthy')
        .map((view) => `${view.id}=${view.state}${view.lastError ? ` (${view.lastError.message})` : ''}`)
        .join(', ');

    // First start: 50 servers queue for 4 slots.
    await until(() => ids.every((id) => running.state(id) === 'healthy' && pidOf(id) !== undefined), notHealthy, 90_000, 25);
    const firstStartMs = Date.now() - started;
    await streamCaughtUp(started);
    expect(inspected.max).toBeLessThanOrEqual(CAP);
    expect(streamed.max).toBeLessThanOrEqual(CAP);
    expect(running.snapshot.context.maxInFlightSeen).toBeLessThanOrEqual(CAP);
    // 50 waiting for 4 slots: the cap is reached, so the bound above is actually tested.
    expect(inspected.max).toBe(CAP);
    expect(running.snapshot.context.maxInFlightSeen).toBe(CAP);
    const maxAtStart = inspected.max;

    const oldPids = new Map(ids.map((id) => [id, pidOf(id) as number]));
    expect(new Set(oldPids.values()).size).toBe(SERVERS);
    inspected.resetMax();
    streamed.resetMax();

    // The storm: every process dies at once.
    const killedAt = Date.now();
    for (const pid of oldPids.values()) process.kill(pid, 'SIGKILL');

    await until(
      () =>
        ids.every((id) => {
          const pid = pidOf(id);
          return running.state(id) === 'healthy' && pid !== undefined && pid !== oldPids.get(id);
        }),
      notHealthy,
      90_000,
      25,
    );
    const recoveryMs = Date.now() - killedAt;

    // The cap held through the storm, by every account.
    expect(inspected.max).toBeLessThanOrEqual(CAP);
    expect(running.snapshot.context.maxInFlightSeen).toBeLessThanOrEqual(CAP);
    await streamCaughtUp(killedAt);
    expect(streamed.max).toBeLessThanOrEqual(CAP);

    // Panic: one event, more than half of the fleet lost within 10 s of the kill.
    type PanicStarted = Extract<SupervisorEmitted, { type: 'panic.started' }>;
    const entered = events.filter((event): event is PanicStarted => event.type === 'panic.started' && event.at >= killedAt);
    expect(entered).toHaveLength(1);
    const panic = entered[0]!;
    expect(panic.at - killedAt).toBeLessThan(10_000);
    expect(panic.total).toBe(SERVERS);
    expect(panic.lost).toBeGreaterThan(SERVERS / 2);
    // ... and admission slowed, not stopped: servers kept being admitted during and after the panic,
    // and the panic ended once half the fleet was serving again.
    const admissions = events.filter((event) => event.type === 'slot.granted' && event.at >= killedAt);
    expect(admissions.filter((event) => event.at >= panic.at).length).toBeGreaterThan(0);
    expect(new Set(admissions.map((event) => (event as { id: string }).id)).size).toBe(SERVERS);
    const panicStart = events.indexOf(panic);
    const panicEnd = events.findIndex((event, index) => index > panicStart && event.type === 'panic.ended');
    expect(panicEnd).toBeGreaterThan(panicStart);
    // In panic, one admission at a time (panicConcurrency 1); afterwards the full cap again.
    const duringPanic = events.slice(panicStart, panicEnd).filter((event) => event.type === 'slot.granted');
    expect(duringPanic.length).toBeGreaterThan(0);
    expect(duringPanic.every((event) => event.inFlight === 1)).toBe(true);
    expect(isPanicking(running.snapshot)).toBe(false);

    // Every killed process is reaped, not left as a zombie.
    const oldAlive = [...oldPids.values()].filter(isAlive);
    expect(oldAlive, describePids(oldAlive)).toEqual([]);

    const newPids = ids.map((id) => pidOf(id) as number);
    expect(new Set(newPids).size).toBe(SERVERS);
    await running.stop();
    const newAlive = newPids.filter(isAlive);
    expect(newAlive, describePids(newAlive)).toEqual([]);
    const left = descendantPids();
    expect(left, describePids(left)).toEqual([]);

    console.info(
      `storm: ${SERVERS} healthy after ${firstStartMs} ms (max connecting ${maxAtStart}); ` +
        `all healthy again ${recoveryMs} ms after the kill (max connecting ${inspected.max}, ` +
        `panic ${panic.at - killedAt} ms after the kill with ${panic.lost}/${panic.total} lost, ` +
        `${admissions.length} admissions since the kill, ${duringPanic.length} of them one at a time in panic)`,
    );
  });
});
