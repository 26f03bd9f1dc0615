import { z } from '@hono/zod-openapi';
import { CONNECTION_STATES } from '../core/states.js';
import { SERVER_ID_PATTERN, SERVER_ID_RULE } from '../config/schema.js';

export const ErrorSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string() }).catchall(z.unknown()),
  })
  .openapi('Error');

export const ActorViewSchema = z
  .object({
    id: z.string(),
    state: z.enum(CONNECTION_STATES),
    transport: z.string(),
    era: z.enum(['modern', 'legacy']).nullable().openapi({ description: 'the protocol era the server last negotiated (modern: 2026-07-28, legacy: 2025-era); null before its first connect' }),
    priority: z.number(),
    since: z.number().openapi({ description: 'when the current state was entered (epoch ms)' }),
    attempts: z.number(),
    lastError: z.object({ kind: z.string(), message: z.string(), at: z.number() }).nullable(),
    quality: z.object({
      score: z.number(),
      latencyMs: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }),
      successRate: z.number().nullable(),
      trend: z.string(),
    }),
    quarantinedUntil: z.number().nullable(),
    waitingForSlot: z.boolean(),
    process: z
      .object({
        pid: z.number().nullable(),
        startedAt: z.number().nullable(),
        uptimeMs: z.number().nullable(),
        restarts: z.number(),
        lastExit: z.object({ code: z.number().nullable(), signal: z.string().nullable(), at: z.number() }).nullable(),
        cpuRatio: z.number().nullable().openapi({ description: 'CPU seconds per wall second over the last sample (1 = one core)' }),
        rssBytes: z.number().nullable(),
        limits: z
          .object({ maxMemoryBytes: z.number().optional(), maxCpuRatio: z.number().optional(), forSeconds: z.number() })
          .optional()
          .openapi({ description: 'the configured resource limits (forSeconds filled in); absent without limits' }),
        overLimit: z
          .array(z.object({ resource: z.enum(['memory', 'cpu']), measured: z.number(), limit: z.number(), since: z.number() }))
          .optional()
          .openapi({ description: 'limits the process group is over now, since when (epoch ms): a restart follows after forSeconds; absent without limits' }),
        resourceRestarts: z
          .object({ memory: z.number(), cpu: z.number() })
          .optional()
          .openapi({ description: 'restarts for staying over a limit, by resource; absent without limits' }),
        memoryGrowthBytesPerSecond: z.number().nullable().openapi({ description: 'least-squares slope of resident memory over the sampling window (bytes/s); null before enough samples' }),
        memoryTrend: z
          .object({ bytesPerSecond: z.number(), r2: z.number(), windowSeconds: z.number(), samples: z.number(), projectedLimitInSeconds: z.number().nullable() })
          .nullable()
          .openapi({ description: 'set while memory grows steadily (a leak trend), before any limit is hit: the pace, the fit, and the seconds left until maxMemoryBytes at that pace' }),
      })
      .optional()
      .openapi({ description: 'for servers the supervisor runs as processes' }),
    disabled: z.boolean().optional().openapi({ description: 'true for a disabled server: `stopped`, never started until `start` enables it' }),
    owner: z.string().optional().openapi({ description: 'in cluster mode: the instance that supervises it' }),
  })
  .openapi('ActorView');

export const ActorDetailSchema = ActorViewSchema.extend({
  required: z.boolean(),
  dependsOn: z.array(z.string()),
  snapshot: z.object({ value: z.unknown(), context: z.record(z.string(), z.unknown()) }),
  history: z.array(z.object({ from: z.string().optional(), to: z.string(), at: z.number(), reason: z.string().optional() })),
}).openapi('ActorDetail');

/** The same rule as config keys and `POST /actors` ids (`src/config/schema.ts`). */
export const IdParamSchema = z.object({
  id: z.string().regex(SERVER_ID_PATTERN, SERVER_ID_RULE).openapi({ param: { name: 'id', in: 'path' }, example: 'files' }),
});

/** Documented loosely here; validated in full by the config schema, which reports by path. */
export const NewServerSchema = z
  .object({ id: z.string().openapi({ example: 'files' }) })
  .catchall(z.unknown())
  .openapi('NewServer', {
    description: 'A config entry in the mcpServers format plus its id, e.g. {"id":"files","command":"npx","args":["-y","@modelcontextprotocol/server-filesystem","."]}',
  });

export const CommandSchema = z.enum(['reconnect', 'stop', 'start']);

/** `GET /actors`: filters and cursor pagination. */
export const ListQuerySchema = z.object({
  state: z.string().optional().openapi({ description: 'only actors in these states (comma-separated), e.g. reconnecting,zombie' }),
  q: z.string().max(256).optional().openapi({ description: 'only actors whose id contains this (case-insensitive)' }),
  limit: z.coerce.number().int().min(1).max(1_000).optional().openapi({ description: 'at most this many actors (1–1000); the answer carries nextCursor when more follow' }),
  cursor: z.string().max(1_024).optional().openapi({ description: 'the nextCursor of the previous page' }),
});

export const ToolCallQuerySchema = z.object({
  timeoutMs: z.coerce.number().int().min(1).max(300_000).optional().openapi({ description: 'call deadline, at most 300000; default: the server’s configured timeout, else 60000' }),
  waitForReady: z.coerce.number().int().min(0).max(60_000).optional().openapi({ description: 'wait up to this long for the connection to be healthy (gRPC wait-for-ready)' }),
});

export const LogsQuerySchema = z.object({
  lines: z.coerce.number().int().min(1).max(10_000).optional(),
});
