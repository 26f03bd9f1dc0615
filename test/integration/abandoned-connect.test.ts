// A connect given up on in its very last microtasks (a `stop` arriving after the session was made,
// before XState takes the result): the session it made must be closed, and must never report to
// the connection, which may be serving a newer session by the time the old one ends. Real SDK
// servers in process; the tracing option is only the hook that lands the stop at an exact microtask.
import { afterEach, describe, expect, it } from 'vitest';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { createActor } from 'xstate';
import { createConnectionLogic } from '../../src/runtime/connection-logic.js';
import { connectionStateOf } from '../../src/machines/connection.machine.js';
import type { ConnectionActorRef } from '../../src/machines/connection.machine.js';
import { resolveSettings } from '../../src/core/settings.js';
import type { Tracing } from '../../src/core/trace-context.js';
import { until } from '../support/wait.js';

const running: ConnectionActorRef[] = [];
const servers: McpServer[] = [];

afterEach(async () => {
  for (const actor of running.splice(0)) actor.stop();
  for (const server of servers.splice(0)) await server.close().catch(() => undefined);
});

/** A connection whose first successful connect gets a `stop` `hops` microtasks after its span ends. */
function connectionStoppedLate(hops: number): { actor: ConnectionActorRef; states: string[] } {
  let actor: ConnectionActorRef | undefined;
  let connects = 0;
  const later = (left: number, then: () => void): void => queueMicrotask(() => (left <= 1 ? then() : later(left - 1, then)));
  const tracing: Tracing = {
    startSpan: () => ({
      traceContext: () => undefined,
      setAttribute: () => undefined,
      end: (outcome) => {
        if (outcome === 'ok' && ++connects === 1) later(hops, () => actor!.send({ type: 'stop' }));
      },
    }),
  };
  actor = createActor(createConnectionLogic({ tracing }), {
    input: {
      id: 'late-stop',
      transport: 'memory',
      target: {
        type: 'memory',
        createServer: () => {
          const server = new McpServer({ name: `in-process-${servers.length + 1}`, version: '1.0.0' });
          servers.push(server);
          return server;
        },
      },
      settings: resolveSettings({ healthyIntervalMs: 60_000, stableIntervalMs: 60_000 }),
    },
  }) as unknown as ConnectionActorRef;
  const states: string[] = [];
  actor.subscribe((snapshot) => {
    const state = connectionStateOf(snapshot);
    if (states.at(-1) !== state) states.push(state);
  });
  running.push(actor);
  actor.start();
  return { actor, states };
}

describe('a connect given up on after its session was made', () => {
  // 1 hop: the stop lands before the session's listener is attached; 2: right after it.
  it.each([1, 2])('(stop %i microtask(s) after the handshake) closes that session, and its end never reaches the newer one', async (hops) => {
    const { actor, states } = connectionStoppedLate(hops);
    await until(() => connectionStateOf(actor.getSnapshot()) === 'stopped', 'stopped');
    // The session made for the attempt given up on is closed: its server is no longer connected.
    await until(() => servers[0]?.isConnected() === false, () => `first server still connected (${states.join(' → ')})`);
    actor.send({ type: 'start' });
    await until(() => connectionStateOf(actor.getSnapshot()) === 'healthy', () => `not healthy again: ${states.join(' → ')}`);
    expect(actor.getSnapshot().context.session?.serverInfo?.name).toBe('in-process-2');
    // The old server ending now says nothing to the connection: it stays on its new session.
    await servers[0]!.close();
    const probe = new Promise((resolve) => actor.on('probe.completed', resolve));
    actor.send({ type: 'probe' });
    await probe;
    expect(connectionStateOf(actor.getSnapshot())).toBe('healthy');
    expect(servers[1]!.isConnected()).toBe(true);
    expect(states).toEqual(['connecting', 'stopped', 'connecting', 'healthy']);
  });
});
