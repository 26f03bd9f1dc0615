import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { SSEMessage, SSEStreamingApi } from 'hono/streaming';
import type { LogLine } from '../../runtime/log-ring.js';
import { Gate } from '../../observe/gate.js';
import { logLineMatcher, readServerLogs } from '../../observe/log-query.js';
import type { LogQuery } from '../../observe/log-query.js';
import { dirname, resolve } from 'node:path';
import { definitionFromEntry } from '../../config/load.js';
import { DuplicateServerError } from '../../fleet/errors.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { isDryRun, timeOf, timeParam } from '../params.js';
import { ListCadence, listActorsChunks } from '../list.js';
import { streamOf } from '../json-chunks.js';
import type { ListSource } from '../list.js';
import { CONNECTION_STATES } from '../../core/states.js';
import {
  ActorDetailSchema,
  ActorViewSchema,
  CommandSchema,
  ErrorSchema,
  ListQuerySchema,
  IdParamSchema,
  LogsQuerySchema,
  NewServerSchema,
  ToolCallQuerySchema,
} from '../schemas.js';
import { actorDetail } from '../../fleet/detail.js';
import { DEFAULT_CLIENT_BUFFER, DEFAULT_KEEP_ALIVE_MS } from './events.js';
import type { StreamSlots } from '../guards.js';
import { callerTraceContext, ensureKnownTool, restErrorOf, retryableTool, unknownToolResult } from '../tools.js';
import { rideCall } from '../../fleet/ride.js';
import { PartValidator } from '../valid.js';
import type { Hook } from '@hono/zod-openapi';
import type { Env } from 'hono';

const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, { content: { 'application/json': { schema: ErrorSchema } }, description: 'error' }]));
const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });

const ENABLES = ' On a disabled server it enables it: `disabled` is removed from its entry in the config file first, then it is started.';

/** What each command route does, for the OpenAPI document. */
const COMMAND_DESCRIPTIONS: Record<z.infer<typeof CommandSchema>, string> = {
  reconnect: `Reconnects the server with a fresh session (and process), or starts it when stopped.${ENABLES}`,
  stop: 'Stops the connection (and its process) until `start` or `reconnect`.',
  start: `Starts a stopped connection.${ENABLES}`,
};

/** `/actors`: every connection actor, its commands, its tools and its logs. */
export function actorRoutes(deps: AppDeps, defaultHook: Hook<unknown, Env, string, unknown>, streams: StreamSlots) {
  const { supervisor } = deps;
  const app = new OpenAPIHono({ defaultHook });
  // File scans of GET /:id/logs at once (src/observe/gate.ts).
  const logScans = new Gate(2);
  /** When `GET /actors` is written from the fleet's kept view texts (src/http/list.ts). */
  const cadence = new ListCadence();
  /** Ids whose registration, removal or enabling is being written: one change per id at a time. */
  const changing = new Set<string>();
  const claim = (id: string): (() => void) => {
    if (changing.has(id)) throw new ApiError(409, 'conflict', `another change to server "${id}" is being written; retry`);
    changing.add(id);
    return () => changing.delete(id);
  };

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['actors'],
      request: { query: ListQuerySchema },
      responses: {
        200: json(z.object({ actors: z.array(ActorViewSchema), nextCursor: z.string().optional() }), 'the actors, in id order; nextCursor when a limit cut the list'),
        ...errors(400),
      },
    }),
    (c) => {
      const { state, q, limit, cursor } = c.req.valid('query');
      const states = state?.split(',').map((name) => name.trim()).filter((name) => name !== '');
      const unknown = states?.filter((name) => !(CONNECTION_STATES as readonly string[]).includes(name)) ?? [];
      if (unknown.length > 0) throw new ApiError(400, 'invalid_request', `state: unknown state ${unknown.map((name) => `"${name}"`).join(', ')} (one of ${CONNECTION_STATES.join(', ')})`);
      try {
        const { cluster } = deps;
        // In cluster mode the list is the whole cluster's, each actor with its owner.
        const source: ListSource = cluster
          ? { ids: () => cluster.fleetIds(), stateOf: (id) => cluster.fleetStateOf(id), viewsOf: (ids) => cluster.fleetViewsOf(ids) }
          : {
              ids: () => supervisor.idsInOrder(),
              stateOf: (id) => {
                try {
                  return supervisor.state(id);
                } catch {
                  return undefined; // removed while we looked
                }
              },
              viewsOf: (ids) => supervisor.viewsOf(ids),
              textsOf: (ids) => supervisor.viewTextsOf(ids),
            };
        const query = { states, q, limit, cursor };
        // Lists that come often are written from each view's kept text, without serializing the
        // views that have not changed since the last list (most of them, polled at 10 000). Every
        // list is streamed in chunks rather than joined into one string and encoded
        // (src/http/json-chunks.ts): the JSON `c.json` would send, so the route keeps its declared
        // type (`as never`).
        const keptTexts = source.textsOf !== undefined && cadence.fromKeptTexts(Date.now());
        const chunks = listActorsChunks(source, query, keptTexts);
        // An answer that fits one chunk (a page) goes whole, with its Content-Length.
        const [only] = chunks;
        return c.body(chunks.length === 1 && only ? only : streamOf(chunks), 200, { 'Content-Type': 'application/json' }) as never;
      } catch (error) {
        if (error instanceof RangeError) throw new ApiError(400, 'invalid_request', `cursor: ${error.message}`);
        throw error;
      }
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['actors'],
      request: { params: IdParamSchema },
      responses: { 200: json(ActorDetailSchema, 'one actor with its snapshot and history'), ...errors(404) },
    }),
    (c) => c.json(actorDetail(supervisor, c.req.valid('param').id) as never, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['actors'],
      request: { query: RegisterQuerySchema, body: { content: { 'application/json': { schema: NewServerSchema } }, required: true } },
      description: REGISTER_DESCRIPTION,
      responses: {
        200: json(z.object({ valid: z.literal(true) }), 'with `dryRun=1`: the registration would be accepted; nothing was started, written or registered'),
        201: json(ActorViewSchema, 'persisted, then registered (a disabled server is listed `stopped`, never started); in cluster mode, written to etcd and shown by its owner'),
        202: json(z.object({ id: z.string(), registered: z.literal(true) }), 'cluster mode: written to etcd; no instance shows it yet'),
        ...errors(400, 409, 503),
      },
    }),
    async (c) => {
      const { id, ...entry } = c.req.valid('json');
      const path = deps.persistence?.path;
      const { cluster } = deps;
      const definition = definitionFromEntry(id, entry, {
        supervisorHealth: deps.persistence?.supervisorHealth(),
        existingIds: cluster ? cluster.fleetIds() : [...supervisor.ids(), ...supervisor.disabledIds()],
        baseDir: path === undefined ? undefined : dirname(resolve(path)),
      });
      if (isDryRun(c.req.valid('query').dryRun)) {
        // The rest of what a registration checks before it writes anything: the id is free.
        const taken = cluster ? cluster.isRegistered(id) || cluster.fleetIds().includes(id) : supervisor.has(id);
        if (taken) throw new DuplicateServerError(id);
        return c.json({ valid: true as const }, 200);
      }
      if (cluster) {
        // The fleet is etcd's: written there (the id taken atomically), started by its owner.
        if (!(await cluster.register(id, entry))) throw new DuplicateServerError(id);
        const shown = await shownWithin(() => cluster.fleetStateOf(id) !== undefined, REGISTER_SHOWN_MS);
        const [view] = shown ? cluster.fleetViewsOf([id]) : [];
        return view ? c.json(view, 201) : c.json({ id, registered: true as const }, 202);
      }
      const release = claim(id);
      try {
        if (supervisor.has(id)) throw new DuplicateServerError(id);
        // Durable before acknowledged: the fleet changes only once the file has the server.
        await deps.persistence?.add(id, entry);
        try {
          supervisor.add(definition);
        } catch (error) {
          // The fleet did not take it after all: the file must not keep it either.
          await deps.persistence?.remove(id).catch(() => undefined);
          throw error;
        }
      } finally {
        release();
      }
      return c.json(supervisor.view(id), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/{id}',
      tags: ['actors'],
      request: { params: IdParamSchema },
      responses: { 200: json(z.object({ removed: z.string() }), 'removed from the file, then stopped and removed'), ...errors(404, 409, 503) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { cluster } = deps;
      if (cluster && (cluster.isRegistered(id) || supervisor.has(id))) {
        // Deleted from etcd; its owner (here: a request about another owner's server was
        // forwarded there) stops it. Answered once it has left this instance's fleet.
        await cluster.deregister(id);
        await shownWithin(() => !supervisor.has(id), REMOVE_SEEN_MS);
        return c.json({ removed: id }, 200);
      }
      supervisor.definition(id); // 404 before the file is touched
      const release = claim(id);
      try {
        // Durable before acknowledged: the server leaves the fleet only once it has left the file.
        await deps.persistence?.remove(id);
        await supervisor.remove(id);
      } finally {
        release();
      }
      return c.json({ removed: id }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/probe',
      tags: ['commands'],
      request: { params: IdParamSchema },
      responses: {
        200: json(
          z.object({ id: z.string(), kind: z.string(), outcome: z.string(), latencyMs: z.number().nullable(), at: z.number(), state: z.string() }),
          'the result of one health check run now',
        ),
        ...errors(404, 503, 504),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const result = await supervisor.probe(id);
      return c.json(
        { id, kind: result.kind, outcome: result.outcome, latencyMs: result.latencyMs ?? null, at: result.at, state: supervisor.state(id) },
        200,
      );
    },
  );

  // One route per command, not `/{id}/{command}`: a parameter next to the static `probe`, `tools`
  // and `logs` makes Hono's RegExpRouter give up, and the whole app would route every request by
  // its slower TrieRouter (a test keeps the app on RegExpRouter). An unknown command is a 404.
  for (const command of CommandSchema.options) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/{id}/${command}`,
        tags: ['commands'],
        request: { params: IdParamSchema },
        description: COMMAND_DESCRIPTIONS[command],
        responses: { 202: json(z.object({ id: z.string(), command: z.literal(command), state: z.string() }), 'command sent'), ...errors(400, 404, 409, 503) },
      }),
      async (c) => {
        const { id } = c.req.valid('param');
        if (command !== 'stop' && supervisor.isDisabled(id)) {
          const release = claim(id);
          try {
            // Durable first: enabled in the file, so it also starts with the next service start.
            if (deps.persistence && !deps.persistence.enable) {
              throw new ApiError(503, 'persistence_failed', `server "${id}" is disabled and this service cannot write its config to enable it`);
            }
            await deps.persistence?.enable?.(id);
            supervisor.enable(id);
          } finally {
            release();
          }
        } else if (command === 'reconnect') supervisor.restart(id);
        else supervisor.command(id, command);
        return c.json({ id, command, state: supervisor.state(id) }, 202);
      },
    );
  }

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/tools',
      tags: ['tools'],
      request: { params: IdParamSchema },
      responses: {
        200: json(z.object({ tools: z.array(z.record(z.string(), z.unknown())), cachedAt: z.number() }), 'the server tools'),
        ...errors(404, 503),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const cached = supervisor.cachedTools(id);
      if (cached) return c.json({ tools: cached.tools, cachedAt: cached.at } as never, 200);
      const tools = await supervisor.listTools(id);
      return c.json({ tools, cachedAt: supervisor.cachedTools(id)?.at ?? Date.now() } as never, 200);
    },
  );

  const toolCall = createRoute({
    method: 'post',
    path: '/{id}/tools/{name}',
    tags: ['tools'],
    description:
      'Calls a tool; the body is its arguments. A W3C `traceparent` (and `tracestate`) header is carried to the server in the request\'s `params._meta` (and as headers over Streamable HTTP); with tracing on, the call\'s span is a child of it (docs/operations.md, tracing).',
    request: {
      params: IdParamSchema.extend({ name: z.string().min(1).openapi({ param: { name: 'name', in: 'path' }, example: 'echo' }) }),
      query: ToolCallQuerySchema,
    },
    responses: {
      200: json(z.record(z.string(), z.unknown()), 'the tool result; `isError` results pass through'),
      ...errors(400, 404, 413, 415, 502, 503, 504),
    },
  });
  // The proxy's hot path: declared in the OpenAPI document like every route, but routed without
  // zod-openapi's validator middleware; the handler validates query and path the same way
  // (same schemas, same hook, same order), without the middleware's awaits.
  app.openAPIRegistry.registerPath(toolCall);
  const toolCallInput = new PartValidator(defaultHook);
  app.post('/:id/tools/:name', async (c) => {
    const { timeoutMs, waitForReady } = toolCallInput.part(c, 'query', toolCall.request.query);
    const { id, name } = toolCallInput.part(c, 'param', toolCall.request.params);
    const args = await readArguments(c.req);
    // ?waitForReady is a wait of its own, before the call's timeout starts; a server still not
    // serving after it is a 503 at once, so the ride itself never waits for one to arrive.
    if (waitForReady) await supervisor.whenServing(id, waitForReady);
    const relisting = ensureKnownTool(supervisor, id, name);
    if (relisting) await relisting;
    let result;
    try {
      result = await rideCall(supervisor, id, name, args, {
        timeoutMs,
        signal: c.req.raw.signal,
        traceContext: callerTraceContext(c.req.raw.headers),
        via: 'rest',
        retryable: retryableTool(supervisor, id, name),
        waitWhileReconnecting: false,
      });
    } catch (error) {
      throw restErrorOf(error, id, name);
    }
    return c.json(unknownToolResult(result, id, name) as never, 200);
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/logs',
      tags: ['actors'],
      summary: 'recent output; with ?follow=1 a live stream (Server-Sent Events)',
      description: LOGS_DESCRIPTION,
      request: { params: IdParamSchema, query: FollowLogsQuerySchema },
      responses: {
        200: {
          content: {
            'application/json': {
              schema: z.object({
                lines: z.array(LogLineSchema),
                fileLogs: z
                  .enum(['on', 'off', 'degraded'])
                  .openapi({ description: "whether the server's output is written to files: `off` (the ring only), `on`, or `degraded` (cannot write now: recent lines from the ring)" }),
              }),
            },
            'text/event-stream': {
              schema: z.string().openapi({ example: 'event: line\ndata: {"at":1700000000000,"stream":"stderr","text":"listening"}\n\n' }),
            },
          },
          description: 'recent output; with follow, an endless stream of it',
        },
        ...errors(400, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { follow, ...filters } = c.req.valid('query');
      const query = logQueryOf(filters);
      const signal = c.req.raw.signal;
      // Throws for an unknown id (404) before any stream starts.
      const ring = supervisor.logRing(id);
      if (follow !== '1' && follow !== 'true') {
        const lines = await readLogs(deps, logScans, id, ring.tail(), query, signal);
        return c.json({ lines, fileLogs: deps.serverLogs?.state(id) ?? 'off' }, 200);
      }
      if (query.until !== undefined) throw new ApiError(400, 'invalid_request', 'until cannot be combined with follow: a live tail has no end');
      const release = streams.acquire(); // 503 too_many_clients when every stream slot is taken
      const follower = new LogFollower(deps.eventStream?.clientBufferSize ?? DEFAULT_CLIENT_BUFFER);
      // Subscription and the ring's content are taken in one synchronous step: no line can fall
      // between them, none comes twice. What the files add is all older than the ring's oldest line.
      const matches = logLineMatcher(query);
      const unsubscribeLines = ring.subscribe((line) => {
        if (matches(line)) follower.push(line);
      });
      const unsubscribe = (): void => {
        unsubscribeLines();
        release();
      };
      const held = ring.tail();
      const keepAliveMs = deps.eventStream?.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
      return streamSSE(c, async (stream) => {
        const snapshot = await readLogs(deps, logScans, id, held, query, signal);
        await follower.serve(stream, { snapshot, unsubscribe, signal, keepAliveMs });
      });
    },
  );

  return app;
}

const RegisterQuerySchema = z.object({
  dryRun: z
    .enum(['1', 'true', '0', 'false'])
    .optional()
    .openapi({ description: 'validate only: answer 200 `{ valid: true }` or the error a registration would get, and start, write and register nothing' }),
});

const REGISTER_DESCRIPTION = `Registers a server: the body is an \`mcpServers\` entry plus its \`id\`. It is checked as a config entry is (every problem listed by path in \`error.issues\`, 400 \`invalid_config\`), written to the config file, then started.

With \`dryRun=1\`: the same checks (the entry, its \`dependsOn\`, the id being free: 409 \`conflict\`), and nothing else: no process is spawned, nothing is written or registered. The dashboard's create form validates as the user types with it, so its errors are exactly the ones the registration would give.`;

const LogLineSchema = z.object({ at: z.number(), stream: z.enum(['stderr', 'stdout']), text: z.string() });

const FollowLogsQuerySchema = LogsQuerySchema.extend({
  follow: z
    .enum(['1', 'true', '0', 'false'])
    .optional()
    .openapi({ description: 'stream the lines as Server-Sent Events: the last `lines` first, then each new one as it comes' }),
  since: timeParam('only lines written at or after this time: ISO 8601 or epoch milliseconds'),
  until: timeParam('only lines written at or before this time: ISO 8601 or epoch milliseconds; not with `follow`'),
  grep: z
    .string()
    .min(1, 'must not be empty')
    .max(1_000, 'must be at most 1000 characters')
    .optional()
    .openapi({ description: 'only lines containing this text, ignoring case (a plain substring: no pattern characters)', example: 'error' }),
  stream: z.enum(['stderr', 'stdout']).optional().openapi({ description: 'only lines of this stream' }),
});

/** The validated query parameters as a {@link LogQuery}; 400 when `since` is after `until`. */
function logQueryOf(filters: { lines?: number; since?: string; until?: string; grep?: string; stream?: LogLine['stream'] }): LogQuery {
  const since = filters.since === undefined ? undefined : timeOf(filters.since);
  const until = filters.until === undefined ? undefined : timeOf(filters.until);
  if (since !== undefined && until !== undefined && since > until) throw new ApiError(400, 'invalid_request', 'since must not be after until');
  return { lines: filters.lines ?? 100, since, until, grep: filters.grep, stream: filters.stream };
}

/**
 * The server's lines for `query`: its files and its ring (`ring`, the ring's content) together when
 * file logs are on, the ring alone when they are off or its files cannot be read (logged).
 */
async function readLogs(deps: AppDeps, scans: Gate, id: string, ring: LogLine[], query: LogQuery, signal: AbortSignal): Promise<LogLine[]> {
  const files = deps.serverLogs;
  try {
    return await scans.run(() => readServerLogs(files?.dirOf(id), ring, query, signal));
  } catch (error) {
    deps.logger?.warn({ err: error, server: id }, 'log files: cannot read; answering from the in-memory ring');
    return readServerLogs(undefined, ring, query);
  }
}

const LOGS_DESCRIPTION = `The last \`lines\` (default 100) lines the server's process wrote (stderr; stdout too where it is not the protocol), oldest first, each \`{at, stream, text}\`.

Filters, all optional, combined: \`since\` and \`until\` (ISO 8601 time, UTC unless it gives an offset, or epoch milliseconds; inclusive), \`grep\` (a plain substring, case-insensitive), \`stream\` (\`stderr\` or \`stdout\`); \`lines\` then keeps the newest that match. With file logs on (\`supervisor.logs\`, docs/operations.md) the lines come from the server's files, \`<logs.dir>/<id>/<YYYY-MM-DD>.log\` (older lines, from before a restart too) and from its in-memory ring (the most recent 500); with them off, or while its files cannot be written (\`fileLogs: "degraded"\`), from the ring alone.

With \`follow=1\`: Server-Sent Events instead, \`event: line\` with the line as JSON in \`data\`; first the last \`lines\` lines that match the filters, then every new line that matches as it is written (\`until\` is refused with it), without gap or duplicate between the two. A client that does not read fast enough (more than 1000 lines waiting) is dropped: it gets \`event: overflow\` if it ever reads again and the stream ends. A \`: keep-alive\` comment is sent every 15 s while idle.`;

/**
 * One `?follow` client: lines wait in its own bounded queue and are written one at a time, so a
 * client that stops reading holds at most `bufferSize` lines before it is dropped.
 */
class LogFollower {
  private readonly queue: LogLine[] = [];
  private ended = false;
  private overflowed = false;
  private wake: (() => void) | undefined;
  private stream: SSEStreamingApi | undefined;
  private writing = 0;
  private stop: () => void = () => undefined;

  constructor(private readonly bufferSize: number) {}

  /** From the ring's subscription: queue the line, or drop the client whose queue is full. */
  push(line: LogLine): void {
    if (this.ended || this.overflowed) return;
    if (this.queue.length >= this.bufferSize) {
      this.overflowed = true;
      this.dropClient();
      return;
    }
    this.queue.push(line);
    this.wake?.();
  }

  /** Writes the snapshot, then queued lines as they come; resolves when the client is gone or dropped. */
  async serve(
    stream: SSEStreamingApi,
    options: { snapshot: LogLine[]; unsubscribe: () => void; signal: AbortSignal; keepAliveMs: number },
  ): Promise<void> {
    this.stream = stream;
    const onSignal = (): void => stream.abort();
    const timer =
      options.keepAliveMs > 0
        ? setInterval(() => {
            // Never pile keep-alives onto a client that is not reading.
            if (!this.ended && this.writing === 0) void this.write(': keep-alive\n\n');
          }, options.keepAliveMs)
        : undefined;
    timer?.unref();
    this.stop = () => {
      if (this.ended) return;
      this.ended = true;
      options.unsubscribe();
      if (timer) clearInterval(timer);
      options.signal.removeEventListener('abort', onSignal);
      this.queue.length = 0;
      this.wake?.();
    };
    // The client went away: Node's server cancels the body; `app.request` callers abort the signal.
    stream.onAbort(this.stop);
    if (options.signal.aborted) this.stop();
    else options.signal.addEventListener('abort', onSignal, { once: true });
    if (this.overflowed) this.dropClient(); // overflowed before serving began

    for (const line of options.snapshot) {
      if (this.ended) break;
      await this.writeLine(line);
    }
    while (!this.ended) {
      const line = this.queue.shift();
      if (line) await this.writeLine(line);
      else await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  private dropClient(): void {
    if (this.ended || !this.stream) return;
    // Queued (synchronously, before the close that follows) behind what the client has not read.
    void this.stream.write(`event: overflow\ndata: ${JSON.stringify({ type: 'overflow', waiting: this.queue.length })}\n\n`);
    this.stop();
  }

  private writeLine(line: LogLine): Promise<void> {
    return this.write({ event: 'line', data: JSON.stringify({ at: line.at, stream: line.stream, text: line.text }) });
  }

  private async write(message: SSEMessage | string): Promise<void> {
    const stream = this.stream;
    if (!stream) return;
    this.writing += 1;
    try {
      await (typeof message === 'string' ? stream.write(message) : stream.writeSSE(message));
    } finally {
      this.writing -= 1;
    }
  }
}

/** How long `POST /actors` in cluster mode waits for an instance to show the new server. */
const REGISTER_SHOWN_MS = 5_000;
/** How long `DELETE /actors/:id` in cluster mode waits for the server to leave this instance. */
const REMOVE_SEEN_MS = 15_000;

/** Resolves true once `holds()` does (checked every 20 ms), false after `timeoutMs`. */
async function shownWithin(holds: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!holds()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** The body is the tool's arguments: a JSON object, or nothing at all. */
async function readArguments(request: { text(): Promise<string> }): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, 'invalid_request', `body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ApiError(400, 'invalid_request', 'body must be a JSON object of tool arguments');
  }
  return parsed as Record<string, unknown>;
}
