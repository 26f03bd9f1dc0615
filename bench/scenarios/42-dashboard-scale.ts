// The dashboard (GET /) at 1000 actors in headless Chromium: how soon a fresh page shows the
// counts by state and its first cards, and how responsive its main thread stays while the fleet
// flaps (transports closed in bursts, fast probes: hundreds of events a second on /events), for a
// viewer that only watches and one that scrolls through the list meanwhile. The fleet is in-process
// (McpServer over InMemoryTransport) behind the real Hono app on 127.0.0.1; the browser is
// /usr/bin/chromium through playwright-core.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { ServerType } from '@hono/node-server';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { launchChromium, requireChromium } from '../../test/support/chromium.js';
import type { Browser, Page } from 'playwright-core';
import { createApp } from '../../src/http/app.js';
import { resolveSettings } from '../../src/core/settings.js';
import { Supervisor } from '../../src/fleet/supervisor.js';
import { mean, percentile, round, until } from '../harness.js';
import { LARGE_FLEET_OPTIONS, memoryServers } from '../memory-fleet.js';
import type { Row, Scenario } from '../harness.js';

// Globals of the page, used only inside functions Playwright runs in the browser (this project's
// tsconfig has no DOM lib).
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** `DASHBOARD_ACTORS=5000` measures another size. */
const COUNT = Number(process.env.DASHBOARD_ACTORS ?? 1_000);
const LOADS = 5;
const WINDOW_MS = 10_000;
/** The flapping: every BURST_EVERY_MS, this many live transports closed at once. */
const BURST_EVERY_MS = 250;
const BURST_SIZE = 50;
const PROBE_INTERVAL_MS = 2_000;
const CAP = 64;

/** Main-thread instruments, installed before the page's own script. */
const INSTRUMENTS = `(() => {
  const bench = (window.__bench = { longtasks: [], late: [], frames: [], shownAt: null, paintedAt: null });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) bench.longtasks.push(entry.duration);
  }).observe({ type: 'longtask', buffered: true });
  // A timer every 20 ms: how late it runs is how long input would wait.
  let expected = performance.now() + 20;
  const tick = () => {
    const now = performance.now();
    bench.late.push(now - expected);
    expected = now + 20;
    setTimeout(tick, 20);
  };
  setTimeout(tick, 20);
  let last = null;
  const frame = (now) => {
    if (last !== null) bench.frames.push(now - last);
    last = now;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  bench.reset = () => {
    bench.longtasks.length = 0;
    bench.late.length = 0;
    bench.frames.length = 0;
  };
  // Shown: the total and a first card are in the document; painted: the frame after that one.
  const observer = new MutationObserver(() => {
    if (bench.shownAt !== null) return;
    if (!document.querySelector('#total[data-count="${COUNT}"]') || !document.querySelector('.card')) return;
    bench.shownAt = performance.now();
    observer.disconnect();
    requestAnimationFrame(() => requestAnimationFrame((now) => (bench.paintedAt = now)));
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true });
})();`;

interface Measured {
  longtasks: number[];
  late: number[];
  frames: number[];
}

interface Load {
  /** From navigation: the counts and a first card in the document… */
  shownMs: number;
  /** …and the frame after that one. */
  paintedMs: number;
  /** The page itself (GET /) fully arrived. */
  documentMs: number;
  /** GET /actors: sent, and fully arrived. */
  listSentMs: number;
  listDoneMs: number;
  cards: number;
  details: number;
}

async function measureLoad(page: Page, url: string, details: string[]): Promise<Load> {
  details.length = 0;
  await page.goto(url);
  await page.waitForFunction(() => window.__bench.paintedAt !== null, undefined, { timeout: 30_000 });
  const load = await page.evaluate((): Omit<Load, 'details'> => {
    interface Timing {
      name: string;
      requestStart: number;
      responseEnd: number;
    }
    const navigation: Timing | undefined = window.performance.getEntriesByType('navigation')[0];
    const list: Timing | undefined = window.performance.getEntriesByType('resource').find((entry: Timing) => new URL(entry.name).pathname === '/actors');
    return {
      shownMs: window.__bench.shownAt,
      paintedMs: window.__bench.paintedAt,
      documentMs: navigation?.responseEnd ?? Number.NaN,
      listSentMs: list?.requestStart ?? Number.NaN,
      listDoneMs: list?.responseEnd ?? Number.NaN,
      cards: document.querySelectorAll('.card').length,
    };
  });
  return { ...load, details: details.length };
}

async function measureWindow(page: Page, scroll: boolean): Promise<Measured & { busy: number }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const taskDuration = async () => (await cdp.send('Performance.getMetrics')).metrics.find((metric) => metric.name === 'TaskDuration')?.value ?? Number.NaN;
  await page.evaluate(() => window.__bench.reset());
  const busyBefore = await taskDuration();
  const started = Date.now();
  if (scroll) {
    // A reader scrolling down the list and back: a wheel step every 50 ms.
    let direction = 1;
    while (Date.now() - started < WINDOW_MS) {
      const atEnd = await page.evaluate((down: number): boolean => {
        window.scrollBy(0, down * 240);
        const end: number = document.documentElement.scrollHeight - window.innerHeight;
        return down > 0 ? window.scrollY >= end - 1 : window.scrollY <= 0;
      }, direction);
      if (atEnd) direction = -direction;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } else {
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
  }
  const busy = ((await taskDuration()) - busyBefore) / ((Date.now() - started) / 1000);
  await cdp.detach();
  const measured = await page.evaluate((): Measured => {
    const bench: Measured = window.__bench;
    return { longtasks: [...bench.longtasks], late: [...bench.late], frames: [...bench.frames] };
  });
  return { ...measured, busy };
}

export const scenario: Scenario = {
  name: 'dashboard at scale',
  async run(): Promise<Row[]> {
    requireChromium();
    const settings = resolveSettings({
      healthyIntervalMs: PROBE_INTERVAL_MS,
      stableIntervalMs: PROBE_INTERVAL_MS,
      connectTimeoutMs: 120_000,
      initialBackoffMs: 1,
      maxBackoffMs: 50,
    });
    const live = new Set<McpServer>();
    const servers = memoryServers(COUNT, settings, 'dashboard', (server) => {
      live.add(server);
      server.server.onclose = () => live.delete(server);
    });
    const supervisor = new Supervisor({ maxConcurrentReconnects: CAP, servers }, LARGE_FLEET_OPTIONS);
    let healthy = 0;
    let events = 0;
    // The actor's own emitter: every event, synchronously (a fleet subscriber may drop some in a storm).
    const subscription = supervisor.actor.on('*', (event) => {
      events += 1;
      if (event.type === 'state.changed') healthy += (event.to === 'healthy' ? 1 : 0) - (event.from === 'healthy' ? 1 : 0);
    });
    let server: ServerType | undefined;
    let browser: Browser | undefined;
    let storm: NodeJS.Timeout | undefined;
    try {
      await until(() => healthy === COUNT, 120_000, 50);
      const app = createApp({ supervisor });
      server = await new Promise<ServerType>((resolve) => {
        const listening = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(listening));
      });
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.addInitScript(INSTRUMENTS);
      const details: string[] = [];
      const lists: string[] = [];
      let streams = 0;
      page.on('request', (request) => {
        const { pathname } = new URL(request.url());
        if (/^\/actors\/[^/]+$/.test(pathname)) details.push(pathname);
        else if (pathname === '/actors') lists.push(request.url());
        else if (pathname === '/events') streams += 1;
      });

      // Loads: the first is cold (Chromium's first page, JIT); the rest reload the same tab.
      const loads: Load[] = [];
      for (let index = 0; index < LOADS; index++) loads.push(await measureLoad(page, url, details));
      const warm = loads.slice(1);

      // Live updates: probes every 2 s and bursts of closed transports (each: reconnecting,
      // connecting, healthy, a slot).
      storm = setInterval(() => {
        // BURST_SIZE of the live servers, picked at random (a partial Fisher–Yates shuffle).
        const targets = [...live];
        for (let index = 0; index < Math.min(BURST_SIZE, targets.length); index++) {
          const pick = index + Math.floor(Math.random() * (targets.length - index));
          [targets[index], targets[pick]] = [targets[pick]!, targets[index]!];
          void targets[index]!.close();
        }
      }, BURST_EVERY_MS);
      const windows: Array<{ label: string; measured: Measured & { busy: number }; events: number; lists: number; streams: number }> = [];
      for (const scroll of [false, true]) {
        const eventsBefore = events;
        const listsBefore = lists.length;
        const streamsBefore = streams;
        const measured = await measureWindow(page, scroll);
        windows.push({ label: scroll ? 'scrolling' : 'watching', measured, events: events - eventsBefore, lists: lists.length - listsBefore, streams: streams - streamsBefore });
      }
      clearInterval(storm);
      storm = undefined;
      // Once the fleet is healthy again, how soon the page says so.
      await until(() => healthy === COUNT, 120_000, 20);
      const calm = performance.now();
      await page.locator(`#summary .count[data-state="healthy"][data-count="${COUNT}"]`).waitFor({ timeout: 30_000 });
      const convergedMs = performance.now() - calm;
      const cardsAfter = await page.locator('.card').count();

      const scenario = `dashboard: ${COUNT} actors, headless Chromium 1280×800`;
      const median = (pick: (load: Load) => number) => round(percentile(warm.map(pick), 50), 0);
      const breakdown = (load: Load) =>
        `page in ${round(load.documentMs, 0)} ms, GET /actors sent at ${round(load.listSentMs, 0)} ms and in at ${round(load.listDoneMs, 0)} ms, painted at ${round(load.paintedMs, 0)} ms`;
      const cold = loads[0]!;
      const rows: Row[] = [
        {
          scenario,
          metric: `navigation → counts + first cards, median of ${warm.length} reloads`,
          value: median((load) => load.shownMs),
          unit: 'ms',
          bound: 'goal < 1000 ms',
          note: `median: page in ${median((load) => load.documentMs)} ms, GET /actors ${median((load) => load.listDoneMs - load.listSentMs)} ms, painted (next frame) at ${median((load) => load.paintedMs)} ms`,
        },
        { scenario, metric: 'navigation → counts + first cards, slowest reload', value: round(Math.max(...warm.map((load) => load.shownMs)), 0), unit: 'ms', bound: 'goal < 1000 ms' },
        { scenario, metric: 'navigation → counts + first cards, first load', value: round(cold.shownMs, 0), unit: 'ms', bound: 'goal < 1000 ms', note: `a fresh Chromium and server: ${breakdown(cold)}` },
        { scenario, metric: 'GET /actors/:id on load', value: Math.max(...loads.map((load) => load.details)), unit: '', bound: 'O(1): the selected actor only (none selected here)' },
        { scenario, metric: 'cards in the document', value: Math.max(...loads.map((load) => load.cards), cardsAfter), unit: '', bound: `bounded (< 200), not ${COUNT}`, note: 'on load and after the scrolling window' },
      ];
      for (const { label, measured, events: seen, lists: reads, streams: opened } of windows) {
        const name = `dashboard: ${COUNT} actors flapping, ${label} (${WINDOW_MS / 1000} s)`;
        const perSecond = round(seen / (WINDOW_MS / 1000), 0);
        rows.push(
          { scenario: name, metric: 'fleet events', value: perSecond, unit: '/s', note: `${BURST_SIZE} transports closed every ${BURST_EVERY_MS} ms, probes every ${PROBE_INTERVAL_MS / 1000} s` },
          {
            scenario: name,
            metric: 'long tasks (> 50 ms)',
            value: measured.longtasks.length,
            unit: '',
            bound: 'goal 0',
            note: measured.longtasks.length > 0 ? `max ${round(Math.max(...measured.longtasks), 0)} ms` : '',
          },
          { scenario: name, metric: 'timer lateness p99', value: round(percentile(measured.late, 99), 1), unit: 'ms', bound: 'goal < 50 ms (input waits no longer)', note: `max ${round(Math.max(...measured.late), 1)} ms, mean ${round(mean(measured.late), 1)} ms; a 20 ms timer` },
          { scenario: name, metric: 'frame interval p99', value: round(percentile(measured.frames, 99), 1), unit: 'ms', note: `p50 ${round(percentile(measured.frames, 50), 1)} ms, max ${round(Math.max(...measured.frames), 1)} ms` },
          { scenario: name, metric: 'main thread busy', value: round(measured.busy * 100, 0), unit: '%', note: `CDP TaskDuration; GET /actors ${reads}×, /events reopened ${opened}×` },
        );
      }
      rows.push({ scenario, metric: 'fleet healthy again → counts say so', value: round(convergedMs, 0), unit: 'ms', note: 'after the flapping stopped' });
      return rows;
    } finally {
      if (storm) clearInterval(storm);
      subscription.unsubscribe();
      await browser?.close().catch(() => undefined);
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      await supervisor.stop(120_000);
    }
  },
};
