// A ping probe asks for an answer, not for a particular shape of one: the probe gives the SDK its
// own loose result schema (src/runtime/probes.ts). With the SDK's own `ping()`, an answer with
// fields beside `_meta` failed its check, and the server was degraded and restarted for being alive.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { PingRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { resolveSettings } from '../../src/core/settings.js';
import { Supervisor } from '../../src/fleet/supervisor.js';
import { connectionStateOf } from '../../src/machines/connection.machine.js';
import type { ServerDefinition } from '../../src/config/load.js';

let supervisor: Supervisor | undefined;
afterEach(async () => {
  await supervisor?.stop();
  supervisor = undefined;
});

function pingAnsweredWith(answer: () => Record<string, unknown>): ServerDefinition {
  const createServer = (): Server => {
    const server = new Server({ name: 'ping-shape', version: '1.0.0' }, { capabilities: {} });
    // Replaces the SDK's own `{}` answer.
    server.setRequestHandler(PingRequestSchema, async () => answer() as never);
    return server;
  };
  return {
    id: 'shape',
    target: { type: 'memory', createServer },
    priority: 0,
    dependsOn: [],
    required: true,
    disabled: false,
    settings: resolveSettings({ healthyIntervalMs: 60_000, stableIntervalMs: 60_000 }),
  };
}

describe('ping probes', () => {
  it.each([
    ['fields beside _meta', { _meta: { note: 'hi' }, uptimeSeconds: 5 }],
    ['only _meta', { _meta: { note: 'hi' } }],
    ['nothing', {}],
  ])('an answer with %s is a fast answer', async (_, answer) => {
    supervisor = new Supervisor({ maxConcurrentReconnects: 1, servers: [pingAnsweredWith(() => answer)] });
    await supervisor.ready('shape', 5_000);
    const probe = await supervisor.probe('shape');
    expect(probe).toMatchObject({ id: 'shape', kind: 'ping', outcome: 'fast' });
    expect(supervisor.view('shape').state).toBe('healthy');
  });

  it('an answer to the ping with an error is not an answer: the probe misses and the server degrades', async () => {
    supervisor = new Supervisor({
      maxConcurrentReconnects: 1,
      servers: [
        pingAnsweredWith(() => {
          throw new Error('broken ping handler');
        }),
      ],
    });
    await supervisor.ready('shape', 5_000);
    const probe = await supervisor.probe('shape');
    expect(probe.outcome).toBe('missed');
    await waitFor(supervisor.connection('shape'), (snapshot) => connectionStateOf(snapshot) === 'degraded', { timeout: 5_000 });
  });
});
