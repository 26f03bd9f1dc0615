// A HEAD of an event stream must not hold a stream slot: nothing reads or cancels its body.
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../../../src/fleet/supervisor.js';
import { createApp } from '../../../src/http/app.js';

const running: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((supervisor) => supervisor.stop()));
});

describe('HEAD of event streams', () => {
  it('answers the headers and takes no slot, so streams can still be opened after many', async () => {
    const supervisor = new Supervisor({ maxConcurrentReconnects: 1, servers: [] });
    running.push(supervisor);
    const app = createApp({ supervisor, limits: { maxEventClients: 2 } });
    for (let i = 0; i < 5; i++) {
      const head = await app.request('/events', { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toBe('text/event-stream');
      expect(head.body).toBeNull();
    }
    const controller = new AbortController();
    const opened = await Promise.all([app.request('/events', { signal: controller.signal }), app.request('/events', { signal: controller.signal })]);
    expect(opened.map((response) => response.status)).toEqual([200, 200]);
    // The limit still holds for real streams.
    const third = await app.request('/events');
    expect(third.status).toBe(503);
    controller.abort();
    for (const response of opened) await response.body?.cancel().catch(() => undefined);
  });
});
