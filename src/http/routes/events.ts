import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Hook } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { SSEMessage, SSEStreamingApi } from 'hono/streaming';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import type { StreamSlots } from '../guards.js';
import { EventHistory, isStreamEventType, STREAM_EVENT_TYPES } from '../../observe/event-history.js';
import type { EventSource, Sequenced, StreamEvent } from '../../observe/event-history.js';

export const DEFAULT_CLIENT_BUFFER = 1_000;
export const DEFAULT_KEEP_ALIVE_MS = 15_000;

const EventsQuerySchema = z.object({
  types: z
    .string()
    .optional()
    .openapi({ description: `comma-separated event types to receive (default all): ${STREAM_EVENT_TYPES.join(', ')}`, example: 'transition,panic' }),
  lastEventId: z
    .string()
    .optional()
    .openapi({ description: 'resume after this event id, for clients that cannot send the Last-Event-ID header' }),
});

const EventsHeadersSchema = z.object({
  'last-event-id': z.string().optional().openapi({ description: 'resume after this event id (sent by EventSource on reconnect)' }),
});

const DESCRIPTION = `Server-Sent Events: every fleet event as it happens. \`event:\` is the event type, \`data:\` the event as JSON, \`id:\` a sequence number increasing by 1 per event.

Resuming: with \`Last-Event-ID: N\` the retained events after N (the last 1000 by default) come first, then live ones, without gap or duplicate. When N is older than the oldest retained event, an \`event: gap\` (no id) comes first and then everything retained; when N is newer than any event issued (a previous process), an \`event: reset\` (no id) comes first and then everything retained. Either means: events were missed, re-read /actors. Without Last-Event-ID only live events are sent. An \`event: gap\` with an id means the server itself could not keep up and lost \`dropped\` events.

A client that does not read fast enough (more than 1000 events waiting) is dropped: it gets \`event: overflow\` if it ever reads again and the stream ends; it may resume with its last id. A \`: keep-alive\` comment is sent every 15 s while idle.`;

type Subscription = Pick<EventHistory, 'since' | 'subscribe' | 'lastId' | 'firstId'>;

/**
 * `/events`: the fleet's events as Server-Sent Events, resumable with `Last-Event-ID`. Each open
 * stream holds one of `streams`' slots until it ends; without a free one, 503 `too_many_clients`.
 */
export function eventRoutes(deps: AppDeps, defaultHook: Hook<unknown, Env, string, unknown>, streams: StreamSlots) {
  const { cluster, supervisor, audit } = deps;
  // The stream carries the audit trail's records, and in cluster mode the other instances'
  // servers' transitions too.
  const source: EventSource =
    cluster || audit
      ? {
          subscribe: (listener, options) => {
            const local = supervisor.subscribe(listener, options);
            const remote = cluster?.subscribeRemote((event) => void listener(event));
            const audited = audit?.subscribe((event) => void listener(event));
            return () => {
              local();
              remote?.();
              audited?.();
            };
          },
        }
      : supervisor;
  const history = deps.eventStream?.history ?? new EventHistory(source, { capacity: deps.eventStream?.historyCapacity });
  const clientBufferSize = deps.eventStream?.clientBufferSize ?? DEFAULT_CLIENT_BUFFER;
  const keepAliveMs = deps.eventStream?.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
  const app = new OpenAPIHono({ defaultHook });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['events'],
      summary: 'fleet events (Server-Sent Events)',
      description: DESCRIPTION,
      request: { query: EventsQuerySchema, headers: EventsHeadersSchema },
      responses: {
        200: {
          content: {
            'text/event-stream': {
              schema: z.string().openapi({ example: 'event: transition\ndata: {"type":"transition","id":"files","from":"healthy","to":"stopped","at":1700000000000}\nid: 42\n\n' }),
            },
          },
          description: 'an endless event stream',
        },
        400: { content: { 'application/json': { schema: z.object({ error: z.object({ code: z.string(), message: z.string() }) }) } }, description: 'unknown event type' },
        503: {
          content: { 'application/json': { schema: z.object({ error: z.object({ code: z.string(), message: z.string() }) }) } },
          description: 'too many event streams open (`too_many_clients`)',
        },
      },
    }),
    (c) => {
      const query = c.req.valid('query');
      const types = parseTypes(query.types);
      const lastId = parseLastId(c.req.header('last-event-id') ?? query.lastEventId);
      const signal = c.req.raw.signal;
      const release = streams.acquire();
      return streamSSE(c, async (stream) => {
        try {
          await serveClient(stream, history, { types, lastId, signal, bufferSize: clientBufferSize, keepAliveMs });
        } finally {
          release();
        }
      });
    },
  );

  return app;
}

function parseTypes(value: string | undefined): ReadonlySet<string> | undefined {
  const types = (value ?? '')
    .split(',')
    .map((type) => type.trim())
    .filter((type) => type !== '');
  if (types.length === 0) return undefined;
  const unknown = types.filter((type) => !isStreamEventType(type));
  if (unknown.length > 0) {
    throw new ApiError(400, 'invalid_request', `unknown event type(s) ${unknown.join(', ')}; known: ${STREAM_EVENT_TYPES.join(', ')}`);
  }
  return new Set(types);
}

/** A non-negative integer, else as if absent (whatever a client echoes back must not break it). */
function parseLastId(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

interface ClientOptions {
  types: ReadonlySet<string> | undefined;
  lastId: number | undefined;
  signal: AbortSignal;
  bufferSize: number;
  keepAliveMs: number;
}

/**
 * One client's stream. Subscribes before replaying, holds live events until the replay is
 * written and skips every id already sent, so replay and live meet without gap or duplicate.
 * Live events wait in the client's own bounded buffer; when it overflows the client is dropped.
 * Resolves when the client is gone or dropped.
 */
async function serveClient(stream: SSEStreamingApi, history: Subscription, options: ClientOptions): Promise<void> {
  const { types, lastId } = options;
  let lastSent = lastId ?? history.lastId;
  let pendingWrites = 0;
  let ended = false;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let replayed!: () => void;
  const replayDone = new Promise<void>((resolve) => {
    replayed = resolve;
  });

  const write = async (message: SSEMessage | string): Promise<void> => {
    pendingWrites += 1;
    try {
      await (typeof message === 'string' ? stream.write(message) : stream.writeSSE(message));
    } finally {
      pendingWrites -= 1;
    }
  };

  const send = async (entry: Sequenced): Promise<void> => {
    if (ended || entry.id <= lastSent) return;
    lastSent = entry.id;
    if (types && entry.event.type !== 'gap' && !types.has(entry.event.type)) return;
    await write({ event: entry.event.type, id: String(entry.id), data: JSON.stringify(entry.event satisfies StreamEvent) });
  };

  const unsubscribe = history.subscribe(
    async (entry) => {
      await replayDone;
      await send(entry);
    },
    {
      bufferSize: options.bufferSize,
      onOverflow: (dropped) => {
        if (ended) return;
        // Queued (synchronously, so before the close that follows `end`) behind whatever the
        // client has not read yet; the stream ends after it.
        void stream.write(`event: overflow\ndata: ${JSON.stringify({ type: 'overflow', dropped, lastEventId: lastSent })}\n\n`);
        end();
      },
    },
  );

  const timer =
    options.keepAliveMs > 0
      ? setInterval(() => {
          // Never pile keep-alives onto a client that is not reading.
          if (!ended && pendingWrites === 0) void write(': keep-alive\n\n');
        }, options.keepAliveMs)
      : undefined;
  timer?.unref();

  const onSignal = (): void => stream.abort();
  function end(): void {
    if (ended) return;
    ended = true;
    unsubscribe();
    if (timer) clearInterval(timer);
    options.signal.removeEventListener('abort', onSignal);
    replayed();
    finish();
  }
  // The client went away: Node's server cancels the body; `app.request` callers abort the signal.
  stream.onAbort(end);
  if (options.signal.aborted) end();
  else options.signal.addEventListener('abort', onSignal, { once: true });

  if (lastId !== undefined && !ended) {
    const replay = history.since(lastId);
    if (replay.discontinuity) {
      await write({
        event: replay.discontinuity,
        data: JSON.stringify({ type: replay.discontinuity, lastEventId: lastId, firstId: history.firstId ?? null, lastId: history.lastId }),
      });
      lastSent = 0;
    }
    for (const entry of replay.events) {
      if (ended) break;
      await send(entry);
    }
  }
  replayed();
  await finished;
}
