import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Hook } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { AUDIT_ACTIONS } from '../../observe/audit.js';
import type { AuditAction, AuditTrail } from '../../observe/audit.js';
import { SERVER_ID_PATTERN, SERVER_ID_RULE } from '../../config/schema.js';
import { timeOf, timeParam } from '../params.js';

const MAX_LIMIT = 1_000;

const AuditQuerySchema = z.object({
  since: timeParam('records at or after this time: ISO 8601 (UTC unless it says) or epoch milliseconds'),
  until: timeParam('records at or before this time: ISO 8601 (UTC unless it says) or epoch milliseconds'),
  actor: z.string().regex(SERVER_ID_PATTERN, SERVER_ID_RULE).optional().openapi({ description: 'records about this server' }),
  action: z
    .enum(AUDIT_ACTIONS as [AuditAction, ...AuditAction[]])
    .optional()
    .openapi({ description: `records of this action: ${AUDIT_ACTIONS.join(', ')}` }),
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(100).openapi({ description: `at most this many, the newest (1–${MAX_LIMIT}; default 100)` }),
});

const AuditRecordSchema = z
  .object({
    time: z.string(),
    requestId: z.string(),
    token: z.string().nullable(),
    role: z.enum(['viewer', 'operator', 'admin']).nullable(),
    action: z.string(),
    target: z.string().nullable(),
    tool: z.string().optional(),
    rpcMethod: z.string().optional(),
    method: z.string(),
    path: z.string(),
    outcome: z.enum(['ok', 'denied', 'unauthorized', 'error']),
    status: z.number().int(),
    code: z.string().optional(),
    durationMs: z.number(),
    suppressed: z.number().int().optional(),
  })
  .openapi('AuditRecord');

/** `GET /audit`: the audit trail read back, newest last, from its files and the in-memory ring. */
export function auditRoutes(trail: AuditTrail, defaultHook: Hook<unknown, Env, string, unknown>) {
  const app = new OpenAPIHono({ defaultHook });
  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['audit'],
      summary: 'the audit trail',
      description:
        'Every state-changing request (register, remove, reconnect, stop, start, probe, tool call), refused ones included: time, token name and role, action, target, outcome, status, error code, duration, request id. Never a request body. Read from the rotated files and the in-memory ring (the newest 1000 records, which survive a disk that fails).',
      request: { query: AuditQuerySchema },
      responses: {
        200: { content: { 'application/json': { schema: z.object({ records: z.array(AuditRecordSchema) }) } }, description: 'the matching records, oldest first' },
      },
    }),
    async (c) => {
      const { since, until, actor, action, limit } = c.req.valid('query');
      const records = await trail.query({
        ...(since === undefined ? {} : { since: timeOf(since) }),
        ...(until === undefined ? {} : { until: timeOf(until) }),
        actor,
        action,
        limit,
      }, c.req.raw.signal);
      return c.json({ records }, 200);
    },
  );
  return app;
}
