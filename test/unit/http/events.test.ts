// GET /events (Server-Sent Events) on a real supervisor of in-process (memory) servers.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import type { ServerDefinition } from '../../../src/config/load.js';
import { createApp } from '../../../src/http/app.js';
import type { App } from '../../../src/http/app.js';
import type { EventStreamOptions } from '../../../src/http/deps.js';
import { EventHistory } from '../../../src/observe/event-history.js';
import { resolveSettings } from '../../../src/core/settings.js';
import { Supervisor } from '../../../src/fleet/supervisor.js';
import type { FleetEvent } from '../../../src/fleet/events.js';

// --- fleet -------------------------------------------------------------------------------------

const running = new Set<Supervisor>();
const clients = new Set<AbortController>();

afterEach(async () => {
  for (const client of clients) client.abort();
  clients.clear();
  await Promise.all([...running].map((supervisor) => supervisor.stop()));
  running.clear();
});

function server(id: string): ServerDefinition {
  return {
    id,
    target: { type: 'memory', createServer: () => new McpServer({ name: 'in-process', version: '1.0.0' }) },
    priority: 0,
    dependsOn: [],
    required: true,
    disabled: false,
    settings: resolveSettings({ initialBackoffMs: 20, maxBackoffMs: 100 }),
  };
}

interface Fleet {
  supervisor: Supervisor;
  app: App;
  history: EventHistory;
}

async function fleet(ids: string[], options: Omit<EventStreamOptions, 'history'> & { historyCapacity?: number } = {}): Promise<Fleet> {
  const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: ids.map(server) });
  running.add(supervisor);
  const history = new EventHistory(supervisor, { capacity: options.historyCapacity });
  const app = createApp({ supervisor, eventStream: { keepAliveMs: 0, ...options, history } });
  await Promise.all(ids.map((id) => supervisor.ready(id)));
  // The history records asynchronously; start every test from a fleet it has fully seen.
  const recorded = (id: string): boolean => history.since(0).events.some(({ event }) => event.type === 'state.changed' && event.id === id && event.to === 'healthy');
  await until(() => ids.every(recorded), 'the history to record the startup');
  return { supervisor, app, history };
}

async function stopped(supervisor: Supervisor, id: string): Promise<void> {
  supervisor.command(id, 'stop');
  await waitFor(supervisor.connection(id), (snapshot) => snapshot.matches('stopped'), { timeout: 5_000 });
}

async function cycle(supervisor: Supervisor, id: string): Promise<void> {
  await stopped(supervisor, id);
  supervisor.command(id, 'start');
  await supervisor.ready(id);
}

/** Resolves once `predicate` holds, yielding to the event loop in between; bounded. */
async function until(predicate: () => boolean, what: string | (() => string), timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

// --- SSE client --------------------------------------------------------------------------------

interface Message {
  event: string | undefined;
  id: string | undefined;
  data: string;
}

/**
 * Reads an SSE response body into messages (comments skipped), continuously like a real client,
 * unless created `paused`; then nothing is read until `drain`.
 */
class SseClient {
  readonly messages: Message[] = [];
  /** Everything received, comments included. */
  raw = '';
  done = false;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private cursor = 0;
  private reading: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(readonly response: Response, paused = false) {
    this.reader = response.body!.getReader();
    if (!paused) this.reading = this.readAll();
  }

  /** The next message (after those already taken) matching `predicate`. */
  async next(predicate: (message: Message) => boolean = () => true, timeoutMs = 5_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.messages.length) {
        const message = this.messages[this.cursor++]!;
        if (predicate(message)) return message;
      }
      if (this.done) throw new Error(`stream ended; got ${JSON.stringify(this.messages)}`);
      await this.nextChunk(deadline - Date.now());
    }
  }

  /** Everything until the stream ends. */
  async drain(timeoutMs = 5_000): Promise<Message[]> {
    this.reading ??= this.readAll();
    const deadline = Date.now() + timeoutMs;
    while (!this.done) await this.nextChunk(deadline - Date.now());
    return this.messages;
  }

  /** Cancels the body, as Node's server does when the client disconnects. */
  async cancel(): Promise<void> {
    await this.reader.cancel();
  }

  private async nextChunk(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.wake = resolve;
        timer = setTimeout(() => reject(new Error(`no SSE data within the deadline; got ${JSON.stringify(this.messages)}`)), Math.max(0, timeoutMs));
      });
    } finally {
      clearTimeout(timer);
      this.wake = undefined;
    }
  }

  private async readAll(): Promise<void> {
    try {
      for (;;) {
        const { done, value } = await this.reader.read();
        if (done) break;
        const text = this.decoder.decode(value, { stream: true });
        this.raw += text;
        this.buffer += text;
        this.parse();
        this.wake?.();
      }
    } catch {
      // cancelled
    }
    this.done = true;
    this.wake?.();
  }

  private parse(): void {
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const message: Message = { event: undefined, id: undefined, data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') message.event = value;
        else if (field === 'id') message.id = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length === 0 && message.event === undefined) continue; // a comment block
      message.data = data.join('\n');
      this.messages.push(message);
    }
  }
}

async function connect(
  app: App,
  path = '/events',
  headers: Record<string, string> = {},
  paused = false,
): Promise<{ client: SseClient; abort: AbortController }> {
  const abort = new AbortController();
  clients.add(abort);
  const response = await app.request(path, { headers, signal: abort.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  return { client: new SseClient(response, paused), abort };
}

const parsed = (message: Message): FleetEvent => JSON.parse(message.data) as FleetEvent;
const isTransition = (id: string, to: string) => (message: Message): boolean => {
  if (message.event !== 'state.changed') return false;
  const event = parsed(message);
  return event.type === 'state.changed' && event.id === id && event.to === to;
};
const ids = (messages: Message[]): number[] => messages.filter((message) => message.id !== undefined).map((message) => Number(message.id));

// --- tests -------------------------------------------------------------------------------------

describe('GET /events', () => {
  it('streams transitions as they happen, with increasing ids', async () => {
    const { supervisor, app, history } = await fleet(['files']);
    const { client } = await connect(app);
    await until(() => history.subscriberCount === 1, 'the client to subscribe');

    await cycle(supervisor, 'files');
    const stop = await client.next(isTransition('files', 'stopped'));
    expect(parsed(stop)).toMatchObject({ type: 'state.changed', id: 'files', from: 'healthy', to: 'stopped', at: expect.any(Number) });
    const healthy = await client.next(isTransition('files', 'healthy'));
    expect(Number(healthy.id)).toBeGreaterThan(Number(stop.id));

    // Every message so far carries an id, one more than the one before, and no event from before it connected.
    const seen = ids(client.messages);
    expect(seen).toHaveLength(client.messages.length);
    seen.forEach((id, index) => index > 0 && expect(id).toBe(seen[index - 1]! + 1));
    expect(client.messages.every((message) => message.event === parsed(message).type)).toBe(true);
    expect(client.messages.some(isTransition('files', 'connecting'))).toBe(true);
    expect(client.messages.some((message) => parsed(message).type === 'state.changed' && (parsed(message) as { from?: string }).from === undefined)).toBe(false);
  });

  it('resumes after Last-Event-ID with the retained events, then live ones, without gap or duplicate', async () => {
    const { supervisor, app, history } = await fleet(['files', 'search']);
    await until(() => history.lastId > 0, 'the startup events');
    const resumeAfter = history.lastId;

    await cycle(supervisor, 'files');
    await until(() => history.since(resumeAfter).events.some((entry) => entry.event.type === 'state.changed' && entry.event.to === 'healthy'), 'the cycle to be recorded');
    // Events keep happening while the client replays and switches to live.
    supervisor.command('search', 'stop');
    const { client } = await connect(app, '/events', { 'Last-Event-ID': String(resumeAfter) });
    await client.next(isTransition('search', 'stopped'));
    supervisor.command('search', 'start');
    await client.next(isTransition('search', 'healthy'));
    await cycle(supervisor, 'files');
    await client.next(isTransition('files', 'healthy'));

    const seen = ids(client.messages);
    expect(seen).toHaveLength(client.messages.length);
    expect(seen[0]).toBe(resumeAfter + 1);
    expect(seen).toEqual(seen.map((_, index) => resumeAfter + 1 + index));
    expect(client.messages.filter(isTransition('files', 'stopped'))).toHaveLength(2);
  });

  it('accepts the resume point as ?lastEventId= too', async () => {
    const { app, history } = await fleet(['files']);
    await until(() => history.lastId >= 3, 'the startup events');
    const { client } = await connect(app, '/events?lastEventId=1');
    const first = await client.next();
    expect(first.id).toBe('2');
  });

  it('says `gap` first when Last-Event-ID is older than the history, then sends all it has', async () => {
    const { supervisor, app, history } = await fleet(['files'], { historyCapacity: 3 });
    await cycle(supervisor, 'files');
    await until(() => (history.firstId ?? 0) > 2, 'the history to evict');
    const { client } = await connect(app, '/events', { 'Last-Event-ID': '1' });
    const gap = await client.next();
    expect(gap.event).toBe('gap');
    expect(gap.id).toBeUndefined();
    expect(JSON.parse(gap.data)).toMatchObject({ type: 'gap', lastEventId: 1, firstId: history.firstId, lastId: history.lastId });
    const replayed = await client.next();
    expect(Number(replayed.id)).toBe(history.firstId);
  });

  it('says `reset` first when Last-Event-ID is beyond anything issued (another process)', async () => {
    const { app, history } = await fleet(['files']);
    await until(() => history.lastId > 0, 'the startup events');
    const { client } = await connect(app, '/events', { 'Last-Event-ID': '999999' });
    const reset = await client.next();
    expect(reset.event).toBe('reset');
    expect(JSON.parse(reset.data)).toMatchObject({ type: 'reset', lastEventId: 999999 });
    expect((await client.next()).id).toBe(String(history.firstId));
  });

  it('sends only the types asked for', async () => {
    const { supervisor, app, history } = await fleet(['files']);
    const { client } = await connect(app, '/events?types=slot.granted,server.added');
    const all = await connect(app, '/events');
    await until(() => history.subscriberCount === 2, 'both clients to subscribe');
    await cycle(supervisor, 'files');
    await all.client.next(isTransition('files', 'healthy'));
    const admission = await client.next();
    expect(admission.event).toBe('slot.granted');
    supervisor.add(server('later'));
    await supervisor.ready('later');
    await all.client.next(isTransition('later', 'healthy'));
    const added = await client.next((message) => message.event !== 'slot.granted');
    expect(added.event).toBe('server.added');
    expect(client.messages.every((message) => message.event === 'slot.granted' || message.event === 'server.added')).toBe(true);
    expect(all.client.messages.some((message) => message.event === 'state.changed')).toBe(true);

    const bad = await app.request('/events?types=state.changed,nonsense');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('nonsense');
  });

  it('drops a client that never reads, while the supervisor and other subscribers carry on', async () => {
    const { supervisor, app, history } = await fleet(['files'], { clientBufferSize: 8 });
    const direct: FleetEvent[] = [];
    const unsubscribe = supervisor.subscribe((event) => void direct.push(event));
    const stuck = await connect(app, '/events', {}, true); // never read until the end
    const reading = await connect(app);
    await until(() => history.subscriberCount === 2, 'both clients to subscribe');

    const rounds = 6;
    // The memory transport runs a whole cycle in microtasks, so each cycle's events arrive as one
    // burst; waiting for the reading client between cycles keeps each burst within its buffer.
    for (let round = 0; round < rounds; round += 1) {
      await cycle(supervisor, 'files');
      await reading.client.next(isTransition('files', 'healthy'));
    }
    await until(() => history.subscriberCount === 1, () => `the stuck client to be dropped (${history.subscriberCount} subscribers)`);

    // The supervisor kept working, and the others got every event.
    expect(supervisor.state('files')).toBe('healthy');
    await until(() => direct.filter((event) => event.type === 'state.changed' && event.to === 'stopped').length === rounds, 'direct events');
    expect(reading.client.messages.filter(isTransition('files', 'stopped'))).toHaveLength(rounds);
    await cycle(supervisor, 'files');
    await reading.client.next(isTransition('files', 'healthy'));
    expect(history.subscriberCount).toBe(1);

    // What the stuck client finds when it finally reads: what it had buffered, `overflow`, the end.
    const messages = await stuck.client.drain();
    expect(messages.at(-1)!.event).toBe('overflow');
    expect(JSON.parse(messages.at(-1)!.data)).toMatchObject({ type: 'overflow', dropped: expect.any(Number), lastEventId: Number(messages.at(-2)!.id) });
    expect(messages.length).toBeLessThan(8);
    unsubscribe();
  });

  it('sends keep-alive comments while idle', async () => {
    const { app, history } = await fleet(['files'], { keepAliveMs: 10 });
    const { client, abort } = await connect(app);
    await until(() => client.raw.includes(': keep-alive\n\n'), 'a keep-alive');
    expect(client.messages).toEqual([]);
    abort.abort();
    await until(() => history.subscriberCount === 0, 'the client to unsubscribe');
  });

  it('unsubscribes when the client goes away', async () => {
    const { app, history } = await fleet(['files']);
    const first = await connect(app);
    const second = await connect(app);
    await until(() => history.subscriberCount === 2, 'both clients to subscribe');
    first.abort.abort();
    await until(() => history.subscriberCount === 1, 'the aborted client to unsubscribe');
    expect((await first.client.drain()).length).toBe(0);
    // A reader cancelling the body (what Node's server does on disconnect) ends it too.
    await second.client.cancel();
    await until(() => history.subscriberCount === 0, 'the cancelled client to unsubscribe');
  });
});
