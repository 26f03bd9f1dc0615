import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Hook } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { CONNECTION_STATES } from '../../core/states.js';
import type { ConnectionState } from '../../core/states.js';
import type { Supervisor } from '../../fleet/supervisor.js';
import type { AppDeps } from '../deps.js';
import { bearerOf } from '../../observe/local-access.js';
import { tokenSetOf } from '../auth.js';

const SERVING: ReadonlySet<ConnectionState> = new Set(['healthy', 'degraded']);

const ServerHealthSchema = z
  .object({
    state: z.enum(CONNECTION_STATES),
    required: z.boolean().openapi({ description: 'only required servers decide the status' }),
    errorCount: z.number().int().openapi({ description: 'failed probes and falls into reconnecting, failed or zombie' }),
    lastError: z
      .object({
        kind: z.string().openapi({ description: 'the error kind (`timeout`, `closed`, `permanent`, `zombie`, …)' }),
        at: z.number(),
        message: z.string().optional().openapi({ description: 'only with the configured token: messages can carry details a public probe must not see' }),
      })
      .nullable(),
    lastProbeAt: z.number().nullable().openapi({ description: 'epoch ms of the last probe result' }),
  })
  .openapi('ServerHealth');

const ClusterHealthSchema = z
  .object({
    instance: z.string(),
    status: z.enum(['joining', 'member', 'unreachable', 'stopped']).openapi({
      description: '`unreachable`: etcd does not answer; this instance keeps supervising what it holds (fail static)',
    }),
  })
  .openapi('ClusterHealth');

const HealthSchema = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    servers: z.record(z.string(), ServerHealthSchema),
    cluster: ClusterHealthSchema.optional().openapi({ description: 'in cluster mode: this instance and where it stands with the registry' }),
  })
  .openapi('Health');

export type Health = z.infer<typeof HealthSchema>;

/**
 * The fleet's verdict: `ok` when every required server is healthy or degraded (also when there
 * are none), else `unavailable`. Servers with `required: false` are listed but never decide.
 */
function fleetHealth(supervisor: Supervisor, withMessages: boolean): Health {
  // No prototype: `__proto__` and `constructor` are server ids like any other.
  const servers: Health['servers'] = Object.create(null) as Health['servers'];
  let ok = true;
  for (const id of supervisor.ids()) {
    let view;
    let stats;
    try {
      view = supervisor.view(id);
      stats = supervisor.statsOf(id);
    } catch {
      continue; // removed while we looked
    }
    const required = requiredOf(supervisor, id);
    servers[id] = {
      state: view.state,
      required,
      errorCount: stats.errorCount,
      lastError: view.lastError
        ? { kind: view.lastError.kind, at: view.lastError.at, ...(withMessages ? { message: view.lastError.message } : {}) }
        : null,
      lastProbeAt: stats.lastProbeAt,
    };
    if (required && !SERVING.has(view.state)) ok = false;
  }
  return { status: ok ? 'ok' : 'unavailable', servers };
}

function requiredOf(supervisor: Supervisor, id: string): boolean {
  try {
    return supervisor.definition(id).required;
  } catch {
    return true;
  }
}

/**
 * `/health`: never behind auth (see `createApp`), for load balancers and orchestrators. It shows
 * states, error kinds and counts only; error messages (which can carry details a public probe
 * must not see) only to a request with the configured token. With no token configured, `GET
 * /actors` has them.
 */
export function healthRoutes(deps: AppDeps, defaultHook: Hook<unknown, Env, string, unknown>) {
  const app = new OpenAPIHono({ defaultHook });
  const tokens = tokenSetOf(deps);
  const body = (description: string) => ({ content: { 'application/json': { schema: HealthSchema } }, description });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['health'],
      summary: 'fleet health',
      description:
        '200 when every required server is healthy or degraded, else 503. Needs no token; `lastError.message` is shown only with the configured token (never when none is configured: read `/actors`).',
      security: [],
      responses: {
        200: body('every required server is serving'),
        503: body('a required server is not serving'),
      },
    }),
    (c) => {
      const withMessages = tokens.size > 0 && tokens.identify(bearerOf(c.req.header('authorization'))) !== undefined;
      const fleet = fleetHealth(deps.supervisor, withMessages);
      // The registry's state is shown, never judged: an instance that lost etcd still serves what it holds.
      const health: Health = deps.cluster ? { ...fleet, cluster: { instance: deps.cluster.instance, status: deps.cluster.status } } : fleet;
      return health.status === 'ok' ? c.json(health, 200) : c.json(health, 503);
    },
  );

  return app;
}
