// GET /actors/:id/logs, as JSON and as a live stream (?follow=1), on a real stdio server that
// writes to stderr on demand (test/fixtures/chatty-server.mjs, tool `say`).
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ServerDefinition } from '../../../src/config/load.js';
import { createApp } from '../../../src/http/app.js';
import type { App } from '../../../src/http/app.js';
import { resolveSettings } from '../../../src/core/settings.js';
import { Supervisor } from '../../../src/fleet/supervisor.js';
import { describePids, waitForNoDescendants } from '../../support/processes.js';
import { until } from '../../support/wait.js';

const chatty = fileURLToPath(new URL('../../fixtures/chatty-server.mjs', import.meta.url));

const running = new Set<Supervisor>();
const clients = new Set<AbortController>();

afterEach(async () => {
  for (const client of clients) client.abort();
  clients.clear();
  await Promise.all([...running].map((supervisor) => supervisor.stop()));
  running.clear();
});

afterAll(async () => {
  const leftovers = await waitForNoDescendants(5_000);
  expect(leftovers, describePids(leftovers)).toEqual([]);
});

interface Fleet {
  supervisor: Supervisor;
  app: App;
  say(text: string): Promise<void>;
}

async function fleet(clientBufferSize?: number): Promise<Fleet> {
  const definition: ServerDefinition = {
    id: 'chatty',
    target: { type: 'stdio', command: process.execPath, args: [chatty, 'stdio'] },
    priority: 0,
    dependsOn: [],
    required: true,
    disabled: false,
    settings: resolveSettings({ initialBackoffMs: 20, maxBackoffMs: 100 }),
  };
  const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: [definition] });
  running.add(supervisor);
  const app = createApp({ supervisor, eventStream: { keepAliveMs: 0, clientBufferSize } });
  await supervisor.ready('chatty', 15_000);
  await until(() => supervisor.logs('chatty').some((line) => line.text.endsWith(' ready')), 'the ready line');
  const say = async (text: string): Promise<void> => {
    const result = await supervisor.callTool('chatty', 'say', { text });
    expect(result.content).toEqual([{ type: 'text', text: 'said' }]);
    // stderr is a pipe of its own: its lines may arrive after the call's answer on stdout.
    const last = text.split('\n').at(-1) ?? '';
    await until(() => supervisor.logs('chatty').some((line) => line.text === last), `the line "${last}"`);
  };
  return { supervisor, app, say };
}


interface Message {
  event: string | undefined;
  data: string;
}

/** A minimal SSE reader: messages as they come; `next()` waits for the next one. */
class SseReader {
  readonly messages: Message[] = [];
  done = false;
  private cursor = 0;
  private buffer = '';
  private wake: (() => void) | undefined;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(response: Response, paused = false) {
    this.reader = response.body!.getReader();
    if (!paused) void this.readAll();
  }

  async next(timeoutMs = 5_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    while (this.cursor >= this.messages.length) {
      if (this.done) throw new Error(`stream ended; got ${JSON.stringify(this.messages)}`);
      if (Date.now() > deadline) throw new Error(`no SSE message in time; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.messages[this.cursor++]!;
  }

  async readAll(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await this.reader.read();
        if (done) break;
        this.buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf('\n\n')) >= 0) {
          const block = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          const message: Message = { event: undefined, data: '' };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) message.event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (message.event === undefined && data.length === 0) continue;
          message.data = data.join('\n');
          this.messages.push(message);
        }
        this.wake?.();
      }
    } catch {
      // cancelled or aborted
    }
    this.done = true;
    this.wake?.();
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}

async function follow(app: App, query = '', paused = false): Promise<{ reader: SseReader; abort: AbortController }> {
  const abort = new AbortController();
  clients.add(abort);
  const response = await app.request(`/actors/chatty/logs?follow=1${query}`, { signal: abort.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  return { reader: new SseReader(response, paused), abort };
}

const text = (message: Message): string => (JSON.parse(message.data) as { text: string }).text;

describe('GET /actors/:id/logs', () => {
  it('answers the last N lines as JSON', async () => {
    const { app, say } = await fleet();
    await say('one\ntwo\nthree');
    const response = await app.request('/actors/chatty/logs?lines=2');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { lines: { at: number; stream: string; text: string }[] };
    expect(body.lines).toEqual([
      { at: expect.any(Number), stream: 'stderr', text: 'two' },
      { at: expect.any(Number), stream: 'stderr', text: 'three' },
    ]);
  });

  it('404s an unknown server, with or without follow', async () => {
    const { app } = await fleet();
    for (const path of ['/actors/nope/logs', '/actors/nope/logs?follow=1']) {
      const response = await app.request(path);
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBeTruthy();
    }
  });

  it('with follow=1 streams the last N lines, then each new line as it is written, until the client aborts', async () => {
    const { supervisor, app, say } = await fleet();
    await say('before 1\nbefore 2');
    const ring = supervisor.logRing('chatty');
    const { reader, abort } = await follow(app, '&lines=2');
    expect(ring.subscriberCount).toBe(1);

    const first = await reader.next();
    expect(first.event).toBe('line');
    expect(JSON.parse(first.data)).toEqual({ at: expect.any(Number), stream: 'stderr', text: 'before 1' });
    expect(text(await reader.next())).toBe('before 2');

    await say('live 1');
    const live = await reader.next();
    expect(live.event).toBe('line');
    expect(text(live)).toBe('live 1');
    await say('live 2\nlive 3');
    expect(text(await reader.next())).toBe('live 2');
    expect(text(await reader.next())).toBe('live 3');
    expect(reader.messages.map(text)).toEqual(['before 1', 'before 2', 'live 1', 'live 2', 'live 3']);

    abort.abort();
    await until(() => ring.subscriberCount === 0, 'the aborted client to unsubscribe');
    await until(() => reader.done, 'the stream to end');
  });

  it('a reader that cancels the body (a disconnect) is unsubscribed too', async () => {
    const { supervisor, app, say } = await fleet();
    const ring = supervisor.logRing('chatty');
    const { reader } = await follow(app, '&lines=1');
    expect(text(await reader.next())).toMatch(/ ready$/);
    await reader.cancel();
    await until(() => ring.subscriberCount === 0, 'the cancelled client to unsubscribe');
    await say('after the client left');
  });

  it('drops a client that does not read once its buffer is full, with an overflow event', async () => {
    const { supervisor, app, say } = await fleet(5);
    const ring = supervisor.logRing('chatty');
    const { reader } = await follow(app, '&lines=1', true);
    await say(Array.from({ length: 50 }, (_, index) => `burst ${index}`).join('\n'));
    await until(() => ring.subscriberCount === 0, 'the slow client to be dropped');

    // Reading now: what was written before the drop, then the overflow event, then the end.
    await reader.readAll();
    const events = reader.messages.map((message) => message.event);
    expect(events.at(-1)).toBe('overflow');
    expect(events.filter((event) => event === 'line').length).toBeLessThanOrEqual(1 + 5 + 1);
    expect(reader.done).toBe(true);
  });
});
