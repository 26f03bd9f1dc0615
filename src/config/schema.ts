import { z } from 'zod';

const positiveMs = z.number().int().positive();

/** Per-connection overrides of `src/core/settings.ts`; every field optional. */
const healthOverridesSchema = z
  .object({
    connectTimeoutMs: positiveMs,
    pingTimeoutMs: positiveMs,
    healthyIntervalMs: positiveMs,
    stableIntervalMs: positiveMs,
    degradedIntervalMs: positiveMs,
    degradedLatencyMs: positiveMs,
    zombieAfter: z.number().int().min(1),
    recoverAfter: z.number().int().min(1),
    initialBackoffMs: positiveMs,
    multiplier: z.number().min(1),
    maxBackoffMs: positiveMs,
    resetAfterMs: positiveMs,
    maxAttempts: z.number().int().min(1),
  })
  .partial()
  .strict();

const commonServerFields = {
  priority: z.number().int().default(0),
  dependsOn: z.array(z.string().min(1)).default([]),
  /** Left out of the `/health` verdict when false. */
  required: z.boolean().default(true),
  disabled: z.boolean().default(false),
  health: healthOverridesSchema.optional(),
};

const stringRecord = z.record(z.string(), z.string());

/** How a server process the supervisor starts is kept (stdio servers, launched HTTP servers). */
const processPolicyFields = {
  restart: z.enum(['on-failure', 'never']).optional(),
  minUptimeMs: z.number().int().min(0).optional(),
};

const stdioServerSchema = z
  .object({
    type: z.literal('stdio'),
    command: z.string().min(1, 'command must not be empty'),
    args: z.array(z.string()).default([]),
    env: stringRecord.optional(),
    cwd: z.string().optional(),
    ...processPolicyFields,
    ...commonServerFields,
  })
  .strict();

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

const httpFields = {
  url: httpUrl,
  headers: stringRecord.optional(),
  // With a command too, the supervisor starts the server itself and then connects to `url`.
  command: z.string().min(1, 'command must not be empty').optional(),
  args: z.array(z.string()).optional(),
  env: stringRecord.optional(),
  cwd: z.string().optional(),
  ...processPolicyFields,
  ...commonServerFields,
};

/**
 * The transport a plain entry means: a `command` is stdio; a `url` is Streamable HTTP unless it
 * ends in `/sse` (the legacy transport); Cursor's `type: "http"` is Streamable HTTP. Deciding
 * this before validation lets every error point at the field that is wrong.
 */
function withTransportType(entry: unknown): unknown {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return entry;
  const record = entry as Record<string, unknown>;
  if (record.type === 'http') return { ...record, type: 'streamable-http' };
  if (record.type !== undefined) return record;
  // A url wins over a command: both together mean "start this HTTP server, then connect to it".
  if (typeof record.url === 'string') return { ...record, type: /\/sse\/?$/.test(record.url.split('?')[0] ?? '') ? 'sse' : 'streamable-http' };
  if ('command' in record) return { ...record, type: 'stdio' };
  return record;
}

/** A server entry in the `mcpServers` format Claude Desktop, Cursor and mcpo already use. */
export const serverEntrySchema = z.preprocess(
  withTransportType,
  z.discriminatedUnion(
    'type',
    [
      stdioServerSchema,
      z.object({ type: z.literal('sse'), ...httpFields }).strict(),
      z.object({ type: z.literal('streamable-http'), ...httpFields }).strict(),
    ],
    { error: 'a server needs either "command" (stdio) or "url" (sse / streamable-http)' },
  ),
);

/** Ids appear in URLs (`/actors/:id`) and metric labels, so they stay plain. */
export const serverIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._-]+$/, 'server ids may use letters, digits, ".", "_" and "-"');

/**
 * The zod schema of a config file: an optional `supervisor` section and the `mcpServers` map
 * (the format Claude Desktop, Cursor and mcpo use). `parseConfig` applies it after `${VAR}`
 * expansion and adds the checks it cannot express (unknown and cyclic `dependsOn`).
 */
export const configSchema = z
  .object({
    $schema: z.string().optional(),
    supervisor: z
      .object({
        maxConcurrentReconnects: z.number().int().min(1).default(4),
        health: healthOverridesSchema.optional(),
        /** Bearer token for the HTTP API; `--token` and MCP_SUPERVISOR_TOKEN take precedence. Use `${VAR}`. */
        token: z.string().min(1, 'token must not be empty').optional(),
      })
      .strict()
      .default({ maxConcurrentReconnects: 4 }),
    mcpServers: z.record(serverIdSchema, serverEntrySchema),
  })
  .strict();

/** A config as written (before defaults): what `createSupervisor` and `parseConfig` accept as a plain object. */
export type RawConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type ServerEntry = z.output<typeof serverEntrySchema>;
