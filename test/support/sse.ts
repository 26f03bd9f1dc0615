// Reading a service's /events stream in end-to-end tests.
import { expect } from 'vitest';
import { waitUntil } from './wait.js';

/** One server-sent event, its data parsed as JSON. */
export interface SseEvent {
  event: string;
  id: string | undefined;
  data: Record<string, unknown>;
}

/**
 * Reads `/events` of a running service with fetch and parses the stream as it arrives; `query`
 * is appended to the path (e.g. `?lastEventId=0` to start from the history's beginning).
 */
export async function openEvents(url: string, headers: Record<string, string>, query = '') {
  const controller = new AbortController();
  const response = await fetch(`${url}/events${query}`, { headers, signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: SseEvent[] = [];
  let raw = '';
  let buffer = '';
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        raw += value;
        buffer += value;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            if (colon > 0) fields[line.slice(0, colon)] = (fields[line.slice(0, colon)] ?? '') + line.slice(colon + 1).replace(/^ /, '');
          }
          if (fields.data !== undefined) events.push({ event: fields.event ?? 'message', id: fields.id, data: JSON.parse(fields.data) as Record<string, unknown> });
        }
      }
    } catch {
      // aborted, or the server went away
    }
  })();
  return {
    events,
    raw: () => raw,
    async waitFor(predicate: (event: SseEvent) => boolean, timeoutMs = 15_000): Promise<SseEvent> {
      return waitUntil(() => events.find(predicate), timeoutMs, () => `no such event; got ${JSON.stringify(events.map((event) => event.data))}`);
    },
    async close(): Promise<void> {
      controller.abort();
      await pump;
    },
  };
}
