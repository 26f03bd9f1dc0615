import { performance } from 'node:perf_hooks';
import { fromPromise } from 'xstate';
import { connectionMachine } from '../machines/connection.machine.js';
import type { ConnectInput, ProbeInput, ProbeResult, SessionInput } from '../machines/connection.machine.js';
import { ConnectionError } from '../core/errors.js';
import type { McpSession } from '../core/session.js';
import type { ServerTarget } from '../core/target.js';
import { roundMs } from '../core/round.js';
import { LogRing } from './log-ring.js';
import { openSession } from './session.js';
import type { StdioTeardownTimings } from './transports/stdio.js';
import type { ProcessSupport } from './process/support.js';
import type { PendingTeardowns } from './teardowns.js';
import type { Tracing } from '../core/trace-context.js';
import { endWith, recordEra, startConnectSpan, startProbeSpan } from './spans.js';
import { LoopTurns } from './loop-turns.js';

export interface ConnectionLogicOptions {
  /** The stderr ring of each connection, by id; kept across attempts so logs survive restarts. */
  stderrOf?: (id: string) => LogRing;
  stdioTeardown?: StdioTeardownTimings;
  clientInfo?: { name: string; version: string };
  /** Where each connection's server processes are reported (facts, hard-death watchdog). */
  processSupportOf?: (id: string) => ProcessSupport;
  /** Told of every teardown (closing sessions, aborted attempts), so a graceful stop can wait for them all. */
  teardowns?: PendingTeardowns;
  /** Where the spans of connects and probes go; none when unset. */
  tracing?: Tracing;
}

/**
 * The connection machine with real I/O actors; one logic serves any number of connections, each
 * reading its server's `target` from context. Per connection id the actors share a "teardown
 * gate": a connect first waits for that connection's previous session (or an attempt aborted by
 * the connect timeout) to be fully closed, so an old process has always exited before a new one
 * is spawned, even when a stop or timeout cut the machine's own wait short.
 */
export function createConnectionLogic(options: ConnectionLogicOptions = {}) {
  const gates = new Map<string, Promise<unknown>>();
  const rings = new Map<string, LogRing>();
  const stderrOf =
    options.stderrOf ??
    ((id: string): LogRing => {
      const ring = rings.get(id) ?? new LogRing();
      rings.set(id, ring);
      return ring;
    });
  const track = (id: string, promise: Promise<unknown>): void => {
    options.teardowns?.add(promise);
    const settled = Promise.allSettled([gates.get(id), promise]);
    gates.set(id, settled);
    // Forget a settled gate so a long-lived fleet with churn does not keep every id forever.
    void settled.then(() => {
      if (gates.get(id) === settled) gates.delete(id);
    });
  };
  const sessionIds = new WeakMap<McpSession, string>();
  // One per fleet: its in-process connects share the slices (src/runtime/loop-turns.ts).
  const loopTurns = new LoopTurns();

  return connectionMachine.provide({
    actors: {
      connect: fromPromise<McpSession, ConnectInput>(async ({ input, signal }) => {
        if (!input.target) throw new ConnectionError('permanent', `connection "${input.id}" has no target to connect to`);
        await gates.get(input.id);
        // Other transports wait on I/O, where the loop turns anyway.
        const turn = input.target.type === 'memory' ? loopTurns.next() : undefined;
        if (turn) {
          await turn;
          signal.throwIfAborted();
        }
        const span = startConnectSpan(options.tracing, input.id, input.target, input.attempt);
        const opening = openSession(input.target, {
          signal,
          // Only a process writes lines: a ring per HTTP or in-process server would be ~400 bytes
          // each for nothing (made on demand if its logs are asked for).
          stderr: runsProcess(input.target) ? stderrOf(input.id) : undefined,
          stdioTeardown: options.stdioTeardown,
          clientInfo: options.clientInfo,
          process: options.processSupportOf?.(input.id),
        });
        // An attempt aborted by the connect timeout closes what it started before it rejects.
        track(input.id, opening.catch(() => undefined));
        const session = await endWith(span, opening, recordEra);
        sessionIds.set(session, input.id);
        // An attempt given up on after its session was made (a `stop` landing in the microtasks
        // before XState takes the result) would hand over a session nobody closes: its process
        // would live on, and its end would be reported to a connection serving a newer session.
        // XState aborts only while the actor runs, so the abort comes before delivery or never;
        // the close goes on the teardown gate, so the next attempt waits for the old process.
        // The closures below keep what they use for the session's life: the id and the
        // connection, not the whole input (V8 keeps a closure's variables, not the paths it reads).
        const { id, connection } = input;
        const abandon = (): void => track(id, session.close());
        if (signal.aborted) {
          abandon();
          return session;
        }
        signal.addEventListener('abort', abandon, { once: true });
        // What the session reports on its own (the child's exit, a closed socket, a forgotten
        // session) goes straight to the connection: at most once, and never after `close()`,
        // which the machine calls before it connects again.
        session.onEvent((event) => connection.send(event));
        return session;
      }),
      probe: fromPromise<ProbeResult, ProbeInput>(async ({ input, signal }) => {
        if (!input.session) throw new ConnectionError('closed', 'no session to probe');
        const started = performance.now();
        const span = startProbeSpan(options.tracing, sessionIds.get(input.session), input.session, input.kind);
        await endWith(span, input.session.probe(input.kind, signal));
        return { latencyMs: roundMs(performance.now() - started) };
      }),
      closeSession: fromPromise<void, SessionInput>(async ({ input }) => {
        if (!input.session) {
          // Stopped while connecting: the interrupted attempt ends the process it started on its
          // own; "closed" means after that, or a removal would answer with the process still up.
          if (input.id !== undefined) await gates.get(input.id);
          return;
        }
        const closing = input.session.close();
        const id = sessionIds.get(input.session);
        if (id !== undefined) track(id, closing);
        await closing;
      }),
    },
  });
}

/** Whether connecting to this target starts a process of the supervisor's (whose output is kept). */
function runsProcess(target: ServerTarget): boolean {
  return target.type === 'stdio' || ((target.type === 'sse' || target.type === 'streamable-http') && target.launch !== undefined);
}
