/**
 * Model-based tests of the connection machine with `xstate/graph`.
 *
 * `test/support/connection-model.ts` traverses a timed model of the machine (the real machine's
 * `transition`, plus a virtual clock for its `after` timers) with `getAdjacencyMap` and
 * `getShortestPaths`, over events the test can make happen: user and transport events, scripted
 * actor outcomes (`xstate.done.actor.*` / `xstate.error.actor.*`) and timers (`xstate.after.*`).
 * For every transition the machine defines it picks the shortest path crossing it. Each path is
 * then executed against the real machine as an actor, with scripted actors that settle only when
 * the path says so and virtual time that advances only to fire the timer the path says fires next;
 * after every step the actor must be in the state the model predicts (state value, what guards read
 * from the context, and its pending timers).
 *
 * The machine's own definition is the checklist: a state or transition that no path reaches fails
 * the coverage tests below, both in the model and in the executed runs.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, fromPromise, setup } from 'xstate';
import type { Actor, ActorRefFrom, AnyStateMachine, AnyStateNode, InspectionEvent } from 'xstate';
import { connectionMachine } from '../../../src/machines/connection.machine.js';
import type {
  ConnectInput,
  ConnectionEvent,
  ConnectionInput,
  ConnectionSnapshot,
  ProbeInput,
  ProbeResult,
  SessionInput,
} from '../../../src/machines/connection.machine.js';
import type { McpSession, SessionEvent } from '../../../src/core/session.js';
import {
  ACTOR_EVENT,
  abstractKey,
  definedTransitions,
  isAfterEvent,
  modelInput,
  modelSession,
  planModel,
  stateNodeIds,
  transitionKey,
} from '../../support/connection-model.js';
import type { ModelPath, ModelPlan, ModelStep, PendingTimer } from '../../support/connection-model.js';

// Both flavours: only a supervised connection waits for `slot.granted`, only an unsupervised one
// passes `awaitingSlot` on its own.
const MODELS: Array<{ name: string; input: ConnectionInput; plan: ModelPlan }> = [false, true].map((supervised) => {
  const input = modelInput(supervised);
  return { name: supervised ? 'supervised' : 'unsupervised', input, plan: planModel(input) };
});

const DEFINED_TRANSITIONS = definedTransitions();
const STATE_NODE_IDS = stateNodeIds();

/** What the executed paths did to the real machine. */
const executed = { transitions: new Set<string>(), states: new Set<string>(), paths: 0 };

// ---------------------------------------------------------------------------------------------
// Running a path against the real machine
// ---------------------------------------------------------------------------------------------

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** The machine with actors that settle only when told, by invoke id, and a watchable transport. */
class Run {
  /** The latest invocation of each invoke id that has not been settled yet. */
  readonly pending = new Map<string, Pending>();
  /** Sessions that can still report (made by `connect`, not yet closed), with the connection each reports to. */
  readonly live = new Map<McpSession, ConnectInput['connection']>();
  private sessions = 0;

  readonly machine = connectionMachine.provide({
    actors: {
      connect: fromPromise<McpSession, ConnectInput>(async ({ self, input, signal }) => {
        const session = await this.await<McpSession>(self.id);
        if (!signal.aborted) this.live.set(session, input.connection);
        return session;
      }),
      probe: fromPromise<ProbeResult, ProbeInput>(({ self }) => this.await<ProbeResult>(self.id)),
      closeSession: fromPromise<void, SessionInput>(({ self, input }) => {
        // A session reports nothing once `close()` was called.
        if (input.session) this.live.delete(input.session);
        return this.await<void>(self.id);
      }),
    },
  });

  /** The connection, invoked by a parent that `sendParent` reports to (and that ignores it). */
  readonly actor: ActorRefFrom<typeof this.machine>;
  private readonly root: Actor<AnyStateMachine>;

  constructor(input: ConnectionInput) {
    const parent = setup({ actors: { connection: this.machine } }).createMachine({
      invoke: { id: 'connection', src: 'connection', input },
    });
    this.root = createActor(parent, {
      // Inspects the connection from its very first microstep on.
      inspect: (event: InspectionEvent) => {
        if (event.type !== '@xstate.microstep') return;
        const snapshot = event.snapshot as ConnectionSnapshot;
        if ((snapshot.machine as unknown) !== this.machine) return;
        for (const transition of event._transitions) executed.transitions.add(transitionKey(transition));
        for (const node of snapshot._nodes as AnyStateNode[]) executed.states.add(node.id);
      },
    });
    const child = this.root.getSnapshot().children.connection;
    if (!child) throw new Error('the parent did not invoke the connection');
    this.actor = child as ActorRefFrom<typeof this.machine>;
  }

  start(): void {
    this.root.start();
  }

  stop(): void {
    this.root.stop();
  }

  private await<T>(id: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
  }

  newSession(): McpSession {
    this.sessions += 1;
    return modelSession(`run-${this.sessions}`);
  }

  timers(): PendingTimer[] {
    const now = Date.now();
    return Object.values(this.actor.system.getSnapshot()._scheduledEvents)
      .filter((scheduled) => scheduled.source === this.actor)
      .map((scheduled) => ({ type: scheduled.event.type, remaining: scheduled.startedAt + scheduled.delay - now }));
  }

  /** The real actor seen through the model's abstraction. */
  key(): string {
    const snapshot = this.actor.getSnapshot();
    return abstractKey(snapshot.value, snapshot.context, this.timers(), Date.now());
  }

  /** Makes one model step happen: a timer fires, an actor settles, or an event arrives. */
  async perform(step: ModelStep): Promise<void> {
    const { event } = step;
    if (isAfterEvent(event.type)) {
      const timer = this.timers().find((pending) => pending.type === event.type);
      if (!timer) throw new Error(`${step.label}: no timer ${event.type} is pending`);
      // The model only fires the timer due first, so nothing else fires on the way.
      await vi.advanceTimersByTimeAsync(timer.remaining);
      return;
    }
    const actor = ACTOR_EVENT.exec(event.type);
    if (actor) {
      const [, outcome, id = ''] = actor;
      const pending = this.pending.get(id);
      if (!pending) throw new Error(`${step.label}: actor ${id} is not running`);
      this.pending.delete(id);
      if (outcome === 'done') {
        const output = 'output' in event ? event.output : undefined;
        pending.resolve(output !== null && typeof output === 'object' && 'listTools' in output ? this.newSession() : output);
      } else {
        pending.reject('error' in event ? event.error : undefined);
      }
    } else if (event.type === 'transport.closed' || event.type === 'session.expired') {
      // The transport reports these on its own: the open session tells the connection that made it.
      expect(this.live.size, `${step.label}: one session is open`).toBe(1);
      for (const connection of [...this.live.values()]) connection.send(event as SessionEvent);
    } else {
      this.actor.send(event as ConnectionEvent);
    }
    // Settled promises deliver their results; the clock does not move.
    await vi.advanceTimersByTimeAsync(0);
  }
}

async function execute(input: ConnectionInput, initial: ModelPlan['initial'], path: ModelPath): Promise<void> {
  const run = new Run(input);
  run.start();
  try {
    await vi.advanceTimersByTimeAsync(0);
    expect(run.actor.getSnapshot().value, '(initial)').toEqual(initial.value);
    expect(run.key(), '(initial)').toBe(initial.key);
    const done: string[] = [];
    for (const step of path.steps) {
      await run.perform(step);
      done.push(step.label);
      const where = done.join(' → ');
      const snapshot = run.actor.getSnapshot();
      expect(snapshot.status, where).toBe('active');
      expect(snapshot.value, where).toEqual(step.value);
      expect(run.key(), where).toBe(step.key);
    }
    executed.paths += 1;
  } finally {
    run.stop();
  }
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.clearAllTimers();
  vi.useRealTimers();
});

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

describe('connection model (xstate/graph)', () => {
  it('crosses every transition the machine defines', () => {
    const sizes = MODELS.map(({ name, plan }) => `${name}: ${plan.stateCount} abstract states, ${plan.edgeCount} edges, ${plan.paths.length} paths`);
    console.info(`connection model: ${STATE_NODE_IDS.length} state nodes, ${DEFINED_TRANSITIONS.length} transitions; ${sizes.join('; ')}`);
    const crossed = new Set(MODELS.flatMap(({ plan }) => [...plan.crossed]));
    expect(new Set(DEFINED_TRANSITIONS).size).toBe(DEFINED_TRANSITIONS.length);
    expect(DEFINED_TRANSITIONS.filter((key) => !crossed.has(key))).toEqual([]);
    expect([...crossed].filter((key) => !DEFINED_TRANSITIONS.includes(key))).toEqual([]);
  });

  it('reaches every state node', () => {
    const reached = new Set(MODELS.flatMap(({ plan }) => [...plan.reached]));
    expect(STATE_NODE_IDS.filter((id) => !reached.has(id))).toEqual([]);
  });

  it('chose paths that together cross everything the model can cross', () => {
    for (const { plan } of MODELS) {
      const crossedByPaths = new Set(plan.paths.flatMap((path) => path.crosses));
      expect([...plan.crossed].filter((key) => !crossedByPaths.has(key))).toEqual([]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Every path, executed against the real machine in virtual time
// ---------------------------------------------------------------------------------------------

for (const { name, input, plan } of MODELS) {
  describe(`connection machine, ${name}: model paths`, () => {
    for (const path of plan.paths) {
      it(path.description, async () => {
        await execute(input, plan.initial, path);
      });
    }
  });
}

// Runs last: the real machine, driven by the paths above, took every transition and entered every state.
describe('connection machine: what the executed paths covered', () => {
  it('every path ran', () => {
    expect(executed.paths).toBe(MODELS.reduce((sum, { plan }) => sum + plan.paths.length, 0));
  });

  it('every transition was taken', () => {
    expect(DEFINED_TRANSITIONS.filter((key) => !executed.transitions.has(key))).toEqual([]);
    expect([...executed.transitions].filter((key) => !DEFINED_TRANSITIONS.includes(key))).toEqual([]);
  });

  it('every state node was entered', () => {
    expect(STATE_NODE_IDS.filter((id) => !executed.states.has(id))).toEqual([]);
  });
});
