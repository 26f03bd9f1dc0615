// A ping probe asks for an answer, not for a particular shape of one: the probe gives the SDK its
// own loose result schema (src/runtime/probes.ts). With the SDK's own `ping()`, an answer with
// extra fields failed its check, and the server was degraded and restarted for being alive.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { PingRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveSettings } from '../../src/core/settings.js';
import { Supervisor } from '../../src/fleet/supervisor.js';
import type { ServerDefinition } from '../../src/config/load.js';
import { until } from '../support/wait.js';

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
  it('an answer with fields beyond an empty result (_meta, extras) is a fast answer', async () => {
    supervisor = new Supervisor({ maxConcurrentReconnects: 1, servers: [pingAnsweredWith(() => ({ _meta: { note: 'hi' }, uptimeSeconds: 5 }))] });
    const fleet = supervisor;
    await until(() => fleet.views()[0]?.state === 'healthy', 'the server healthy');
    const probe = await fleet.probe('shape');
    expect(probe).toMatchObject({ id: 'shape', kind: 'ping', outcome: 'fast' });
    expect(fleet.views()[0]?.state).toBe('healthy');
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
    const fleet = supervisor;
    await until(() => fleet.views()[0]?.state === 'healthy', 'the server healthy');
    const probe = await fleet.probe('shape');
    expect(probe.outcome).toBe('missed');
    await until(() => fleet.views()[0]?.state === 'degraded', 'the server degraded');
  });
});
