import { createHash } from 'node:crypto';
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
    /** A ratio: how a fleet's probes are spread (a new session's first probe, and each wait after a miss, slow answer or call, cut by up to this share at random); 0 turns it off. */
    probeJitter: z
      .number({ error: 'must be a number from 0 (no jitter) up to, not including, 1' })
      .min(0, 'must be at least 0 (0 turns probe jitter off)')
      .lt(1, 'must be less than 1 (a share of the interval; 0.1 cuts up to 10 %)'),
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

const eraSchema = z.enum(['auto', 'modern', 'legacy']);

const commonServerFields = {
  priority: z.number().int().default(0),
  dependsOn: z.array(z.string().min(1)).default([]),
  /** Left out of the `/health` verdict when false. */
  required: z.boolean().default(true),
  disabled: z.boolean().default(false),
  health: healthOverridesSchema.optional(),
  /** The protocol era to negotiate: `auto` (default), `modern` (2026-07-28 only) or `legacy` (2025-era only). */
  era: eraSchema.optional(),
  /** Default deadline of a tool call (ms), as Claude Desktop, Cursor and VS Code users write it. */
  timeout: positiveMs.optional(),
  /** A dotenv file (relative to the config file) whose values go under `env`; `env` wins. */
  envFile: z.string().min(1, 'envFile must not be empty').optional(),
};

/**
 * Keys other MCP clients write into a server entry that mean nothing to a supervisor: tool
 * approval lists (Cline, Roo Code), a description, VS Code's gallery bookkeeping. They are
 * accepted, left out of the definition, and named in one info line per server.
 */
export const IGNORED_SERVER_KEYS: ReadonlySet<string> = new Set(['autoApprove', 'alwaysAllow', 'description', 'gallery', 'version']);

/** Typing only: the ignored keys are removed before an entry is validated. */
const ignoredServerFields = {
  /** Ignored (Cline): tools its user approved in advance. */
  autoApprove: z.unknown().optional(),
  /** Ignored (Roo Code): tools its user approved in advance. */
  alwaysAllow: z.unknown().optional(),
  /** Ignored: a human description of the server. */
  description: z.unknown().optional(),
  /** Ignored (VS Code): the gallery the server was installed from. */
  gallery: z.unknown().optional(),
  /** Ignored (VS Code): the version installed from the gallery. */
  version: z.unknown().optional(),
};

const stringRecord = z.record(z.string(), z.string());

const positiveNumber = z.number({ error: 'must be a positive number' }).positive('must be a positive number').finite('must be a positive number');

/**
 * `limits` of a server the supervisor starts: a process group over a limit for `forSeconds` is
 * restarted through the reconnect path (docs/operations.md).
 */
const limitsSchema = z
  .object({
    /** Resident memory of the whole process group (bytes). */
    maxMemoryBytes: positiveNumber.optional(),
    /** CPU time per wall-clock second of the whole group (1 = one core busy). */
    maxCpuRatio: positiveNumber.optional(),
    /** How long a limit must be exceeded before the restart (seconds); default 30. */
    forSeconds: positiveNumber.optional(),
  })
  .strict();

/** How a server process the supervisor starts is kept (stdio servers, launched HTTP servers). */
const processPolicyFields = {
  restart: z.enum(['on-failure', 'never']).optional(),
  minUptimeMs: z.number().int().min(0).optional(),
  limits: limitsSchema.optional(),
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
    ...ignoredServerFields,
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
  ...ignoredServerFields,
};

/** Every way a config may spell a transport, and the transport it means. */
export const TRANSPORT_SPELLINGS: ReadonlyMap<string, 'stdio' | 'sse' | 'streamable-http'> = new Map([
  ['stdio', 'stdio'],
  ['sse', 'sse'],
  ['streamable-http', 'streamable-http'],
  // Cursor and VS Code.
  ['http', 'streamable-http'],
  // Cline.
  ['streamableHttp', 'streamable-http'],
]);

/**
 * The transport a plain entry means: a `command` is stdio; a `url` is Streamable HTTP unless it
 * ends in `/sse` (the legacy transport); `http` (Cursor, VS Code) and `streamableHttp` (Cline) are
 * Streamable HTTP. Deciding this before validation lets every error point at the field that is wrong.
 */
function withTransportType(entry: unknown): unknown {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return entry;
  const record = entry as Record<string, unknown>;
  const spelled = typeof record.type === 'string' ? TRANSPORT_SPELLINGS.get(record.type) : undefined;
  if (spelled !== undefined) return { ...record, type: spelled };
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

/**
 * Ids appear in URLs (`/actors/:id`) and metric labels, so they stay plain: 1 to 128 letters,
 * digits, `.`, `_` and `-`, and never `.` or `..`, which URLs resolve away as path segments.
 * The same rule holds for config keys, `POST /actors` ids and route parameters.
 */
export const SERVER_ID_PATTERN = /^(?!\.\.?$)[A-Za-z0-9._-]{1,128}$/;

/** What {@link SERVER_ID_PATTERN} says, in words. */
export const SERVER_ID_RULE = 'server ids are 1 to 128 letters, digits, ".", "_" and "-", and not "." or ".."';

export const serverIdSchema = z.string().regex(SERVER_ID_PATTERN, SERVER_ID_RULE);

/** An etcd or API base address: scheme, host and port, no path. */
const baseUrl = z.string().regex(/^https?:\/\/[^/\s]+\/?$/, 'must be an http(s)://host:port URL');

/** `supervisor.cluster`: cluster mode on etcd (docs/cluster.md); the CLI's `--etcd` flags take precedence. */
const clusterSchema = z
  .object({
    /** etcd client URLs. */
    etcd: z.union([baseUrl, z.array(baseUrl).min(1)]).transform((value) => (Array.isArray(value) ? value : [value])),
    instance: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, ".", "_" or "-" (at most 128)').optional(),
    leaseTtlSeconds: z.number().int().min(2).max(3_600).optional(),
    prefix: z.string().min(1).optional(),
    advertiseUrl: baseUrl.optional(),
    seedServers: z.boolean().optional(),
  })
  .strict();

/** The roles of docs/operations.md, weakest first: each may do what the one before it may. */
const ROLES = ['viewer', 'operator', 'admin'] as const;

const sha256Hex = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits (the sha256 of the token)');

/** One API token: a name for the audit trail, a role, and the token in clear or as its sha256. */
const tokenSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'letters, digits, ".", "_", "@" or "-" (at most 64)'),
    role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
    /** The token itself (use `${VAR}`). */
    token: z.string().min(16, 'a token must be at least 16 characters').optional(),
    /** The token's sha256 in hex (`printf %s "$TOKEN" | sha256sum`), so the config holds no secret. */
    sha256: sha256Hex.optional(),
  })
  .strict()
  .refine((entry) => (entry.token === undefined) !== (entry.sha256 === undefined), { error: 'give exactly one of "token" and "sha256"' });

/** Duplicates are named even when other tokens are invalid, so that `--check` lists every problem at once. */
const tokensSchema = z.array(tokenSchema).superRefine(
  (tokens, context) => {
    const names = new Map<string, number>();
    const secrets = new Map<string, number>();
    (tokens as unknown[]).forEach((value, index) => {
      if (typeof value !== 'object' || value === null) return;
      const entry = value as { name?: unknown; token?: unknown; sha256?: unknown };
      if (typeof entry.name === 'string') {
        const earlier = names.get(entry.name);
        if (earlier !== undefined) context.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate token name "${entry.name}" (also at tokens.${earlier})` });
        else names.set(entry.name, index);
      }
      const secret =
        typeof entry.sha256 === 'string' ? entry.sha256.toLowerCase() : typeof entry.token === 'string' ? createHash('sha256').update(entry.token).digest('hex') : undefined;
      if (secret === undefined) return;
      const same = secrets.get(secret);
      if (same !== undefined) context.addIssue({ code: 'custom', path: [index], message: `duplicate token: the same token as tokens.${same}` });
      else secrets.set(secret, index);
    });
  },
  { when: (payload) => Array.isArray(payload.value) },
);

/** `supervisor.logs`: server output kept in files, `<dir>/<id>/<date>.log` (docs/operations.md). */
const logFilesSchema = z
  .object({
    /** Default true in the service; false keeps only the in-memory ring. */
    enabled: z.boolean().optional(),
    /** Relative to the config file's directory; default `logs`. */
    dir: z.string().min(1).optional(),
    /** A file is rotated at this size (bytes); default 10 MiB. */
    maxSizeBytes: z.number().int().positive().optional(),
    /** Files older than this are deleted (days); default 14. */
    maxAgeDays: positiveNumber.optional(),
    /** At most this many rotated files per server; default 20. */
    maxFiles: z.number().int().positive().optional(),
  })
  .strict();

/** `supervisor.audit`: the operation log (JSON lines) of every state-changing request. */
const auditSchema = z
  .object({
    /** Default true in the service; false keeps only the in-memory ring. */
    enabled: z.boolean().optional(),
    /** Relative to the config file's directory; default `audit/audit.log`. */
    file: z.string().min(1).optional(),
    /** Rotated at this size (bytes); default 10 MiB. */
    maxSizeBytes: z.number().int().positive().optional(),
    /** Rotated files kept; default 20. */
    maxFiles: z.number().int().positive().optional(),
  })
  .strict();

/** The `supervisor` section: settings for the whole fleet. */
export const supervisorSchema = z
  .object({
    maxConcurrentReconnects: z.number().int().min(1).default(4),
    health: healthOverridesSchema.optional(),
    /** The era every server negotiates unless it says otherwise; default `auto`. */
    era: eraSchema.optional(),
    /** Bearer token for the HTTP API; `--token` and MCP_SUPERVISOR_TOKEN take precedence. Use `${VAR}`. */
    token: z.string().min(1, 'token must not be empty').optional(),
    /** Several API tokens, each with a role (docs/operations.md); `token` alone is one `admin` token. */
    tokens: tokensSchema.optional(),
    /** Server output in files with rotation and retention. */
    logs: logFilesSchema.optional(),
    /** The audit trail's file and rotation. */
    audit: auditSchema.optional(),
    /** Cluster mode: the fleet is shared with other instances through etcd. */
    cluster: clusterSchema.optional(),
  })
  .strict()
  .default({ maxConcurrentReconnects: 4 });

/** The keys a `health` block may have, for suggestions on a misspelled one. */
export const HEALTH_KEYS: readonly string[] = Object.keys(healthOverridesSchema.shape);

/** The keys a server entry may have (any transport), ignored ones included. */
export const SERVER_KEYS: readonly string[] = [...new Set(['type', ...Object.keys(stdioServerSchema.shape), ...Object.keys(httpFields)])];

const serverMapSchema = z.record(serverIdSchema, serverEntrySchema);

/**
 * A config as an object: an optional `supervisor` section and the `mcpServers` map (the format
 * Claude Desktop, Cursor and mcpo use). A file may instead use VS Code's `servers` (with its
 * `inputs`, ignored). `parseConfig` validates a config section by section with the schemas above,
 * so that every problem is named at its path, and adds the checks a schema cannot express
 * (unknown keys with suggestions, unknown and cyclic `dependsOn`, env files).
 */
export const configSchema = z
  .object({
    $schema: z.string().optional(),
    supervisor: supervisorSchema,
    mcpServers: serverMapSchema,
  })
  .strict();

/** The keys a config file may have at its top level: VS Code's `servers` (for `mcpServers`) and `inputs` too. */
export const TOP_LEVEL_KEYS: readonly string[] = [...Object.keys(configSchema.shape), 'servers', 'inputs'];

/** The keys the `supervisor` section may have. */
export const SUPERVISOR_KEYS: readonly string[] = Object.keys(supervisorSchema.unwrap().shape);

/** A config as written (before defaults): what `createSupervisor` and `parseConfig` accept as a plain object. */
export type RawConfig = z.input<typeof configSchema>;
export type ServerEntry = z.output<typeof serverEntrySchema>;
