import { performance } from 'node:perf_hooks';
import { fromPromise } from 'xstate';
import { connectionMachine } from '../machines/connection.machine.js';
import type { ConnectInput, ProbeInput, ProbeResult, SessionInput } from '../machines/connection.machine.js';
import { ConnectionError } from '../errors.js';
import type { McpSession } from '../session.js';
import type { LogRing } from './log-ring.js';
import { openSession } from './session.js';
import type { ServerTarget } from './target.js';
import type { StdioTeardownTimings } from './transports/stdio.js';

export interface ConnectionLogicOptions {
  target: ServerTarget;
  stderr?: LogRing;
  stdioTeardown?: StdioTeardownTimings;
  clientInfo?: { name: string; version: string };
}

/**
 * The connection machine with real I/O actors for one server. The actors share one "teardown
 * gate": a connect first waits for the previous session (or an aborted attempt) to be fully closed,
 * so an old process has always exited before a new one is spawned, even when a stop or timeout
 * cut the machine's own wait short.
 */
export function createConnectionLogic(options: ConnectionLogicOptions) {
  let teardownGate: Promise<unknown> = Promise.resolve();
  const track = (promise: Promise<unknown>): void => {
    const previous = teardownGate;
    teardownGate = Promise.allSettled([previous, promise]);
  };

  return connectionMachine.provide({
    actors: {
      connect: fromPromise<McpSession, ConnectInput>(async ({ signal }) => {
        await teardownGate;
        const opening = openSession(options.target, {
          signal,
          stderr: options.stderr,
          stdioTeardown: options.stdioTeardown,
          clientInfo: options.clientInfo,
        });
        // An attempt aborted by the connect timeout closes what it started before it rejects.
        track(opening.catch(() => undefined));
        return opening;
      }),
      probe: fromPromise<ProbeResult, ProbeInput>(async ({ input, signal }) => {
        if (!input.session) throw new ConnectionError('closed', 'no session to probe');
        const started = performance.now();
        await input.session.probe(input.kind, signal);
        return { latencyMs: performance.now() - started };
      }),
      closeSession: fromPromise<void, SessionInput>(async ({ input }) => {
        const closing = input.session?.close() ?? Promise.resolve();
        track(closing);
        await closing;
      }),
    },
  });
}

export type ConnectionLogic = ReturnType<typeof createConnectionLogic>;
