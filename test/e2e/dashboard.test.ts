// The dashboard (GET /) in a real headless Chromium, against the real `mcp-supervisor` command.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, requireChromium } from '../support/chromium.js';
import type { Browser, Page, Request, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { describePids, waitForExit, waitForNoDescendants } from '../support/processes.js';
import { FAST_HEALTH, killAllClis, startCli } from '../support/cli.js';
import type { Cli } from '../support/cli.js';

// Globals of the page, used only inside functions Playwright runs in the browser (this project's
// tsconfig has no DOM lib).
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const MutationObserver: any; // eslint-disable-line @typescript-eslint/no-explicit-any

// The README's screenshot is refreshed with `SCREENSHOT=1 npx vitest run test/e2e/dashboard.test.ts`;
// ordinary runs write to the temp dir, so `npm test` leaves the working tree as it was.
const screenshotPath =
  process.env.SCREENSHOT === '1'
    ? fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url))
    : join(tmpdir(), `mcp-supervisor-dashboard-${process.pid}.png`);
const statechartPath = fileURLToPath(new URL('../../docs/statecharts/connection.svg', import.meta.url));
const UI_TIMEOUT_MS = 15_000;

const stdioServer = () => ({ command: process.execPath, args: [fixtureServerPath, 'stdio'] });

interface ActorDetail {
  id: string;
  state: string;
  process?: { pid: number | null };
  lastError: { kind: string; message: string; at: number } | null;
  history: Array<{ from: string | null; to: string }>;
}

/** Which of a card's command buttons are enabled. */
interface Commands {
  reconnect: boolean;
  stop: boolean;
  start: boolean;
}

/**
 * The generated chart's edge labels (the texts drawn straight under its root) that the
 * #statechart container shows, whole or cut by its edges or the SVG's viewBox.
 */
interface ChartLabels {
  total: number;
  whole: string[];
  cut: string[];
}

async function getJson<T>(url: string, headers: Record<string, string>): Promise<T> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

// ---------------------------------------------------------------------------------------------

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-supervisor-dashboard-'));
});

afterAll(async () => {
  killAllClis();
  const left = await waitForNoDescendants(10_000);
  await rm(dir, { recursive: true, force: true });
  expect(left, describePids(left)).toEqual([]);
});

describe('dashboard at GET /, in headless Chromium against the real CLI', () => {
  const token = `token-${randomBytes(8).toString('hex')}`;
  const auth = { authorization: `Bearer ${token}` };
  let cli: Cli;
  let browser: Browser | undefined;
  let page: Page;

  const card = (id: string) => page.locator(`.card[data-id="${id}"]`);
  const cardIn = (id: string, state: string) => page.locator(`.card[data-id="${id}"][data-state="${state}"]`);
  const detail = (id: string) => getJson<ActorDetail>(`${cli.url}/actors/${id}`, auth);
  /** Every value the card's data-state attribute took since `watchCard` (needs no luck with timing). */
  const seenStates = (id: string) => page.evaluate((cardId: string) => (window.__seenStates?.[cardId] ?? []) as string[], id);
  const transitionsTo = (state: string) => page.locator(`#transitions li[data-to="${state}"]`);
  const commands = (id: string) =>
    page.evaluate((cardId: string): Commands => {
      const element = document.querySelector(`.card[data-id="${cardId}"]`);
      const enabled = (name: string) => !element.querySelector(`button[data-command="${name}"]`).disabled as boolean;
      return { reconnect: enabled('reconnect'), stop: enabled('stop'), start: enabled('start') };
    }, id);
  /** Waits until the card's buttons are enabled as `expected` (they follow its state live). */
  const commandsBecome = (id: string, expected: Commands) => expect.poll(() => commands(id), { timeout: UI_TIMEOUT_MS }).toEqual(expected);
  const chartLabels = () =>
    page.evaluate((): ChartLabels => {
      interface Edges {
        left: number;
        top: number;
        right: number;
        bottom: number;
      }
      const container = document.getElementById('statechart');
      const svg = container.querySelector('svg');
      const texts = svg ? [...svg.querySelectorAll(':scope > text')] : [];
      const outer = container.getBoundingClientRect();
      const left: number = outer.left + container.clientLeft;
      const top: number = outer.top + container.clientTop;
      const view: Edges = { left, top, right: left + container.clientWidth, bottom: top + container.clientHeight };
      const inside = (r: Edges, edges: Edges) => r.left >= edges.left - 0.5 && r.right <= edges.right + 0.5 && r.top >= edges.top - 0.5 && r.bottom <= edges.bottom + 0.5;
      const result: ChartLabels = { total: texts.length, whole: [], cut: [] };
      for (const text of texts) {
        const r: Edges = text.getBoundingClientRect();
        const seen = r.right > view.left && r.left < view.right && r.bottom > view.top && r.top < view.bottom;
        if (!seen) continue;
        (inside(r, view) && inside(r, svg.getBoundingClientRect()) ? result.whole : result.cut).push(text.textContent as string);
      }
      return result;
    });
  /** The chart's edge labels in view are whole: none cut by the container's edges or the viewBox. */
  const expectLabelsWhole = async () => {
    await expect.poll(async () => (await chartLabels()).cut, { timeout: UI_TIMEOUT_MS }).toEqual([]);
    const labels = await chartLabels();
    expect(labels.total).toBeGreaterThan(10);
    expect(labels.whole.length).toBeGreaterThan(0);
  };

  beforeAll(async () => {
    requireChromium();
    const configPath = join(dir, 'mcp.json');
    // `fragile` is not restarted when its process ends: it fails, and stays failed until reconnected.
    const config = {
      supervisor: { maxConcurrentReconnects: 4, health: FAST_HEALTH },
      // `search` logs each tool call on stderr: lines for its log panel.
      mcpServers: { filesystem: stdioServer(), search: { ...stdioServer(), env: { FIXTURE_LOG_CALLS: '1' } }, fragile: { ...stdioServer(), restart: 'never' } },
    };
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
    cli = await startCli(['--config', configPath, '--port', '0', '--token', token]);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(UI_TIMEOUT_MS);
  });

  afterAll(async () => {
    await browser?.close();
    if (cli && cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });

  it('serves the page without a token; everything it reads needs one', async () => {
    const response = await fetch(`${cli.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toMatch(/script-src 'sha256-/);
    const html = await response.text();
    expect(html).not.toContain(token);
    expect(html).not.toContain('filesystem'); // no data in the page itself
    for (const path of ['/actors', '/events', '/statecharts/connection.svg']) {
      const denied = await fetch(`${cli.url}${path}`);
      expect(denied.status, path).toBe(401);
      await denied.body?.cancel();
    }
    for (const path of ['/statecharts/..%2Fpackage.json', '/statecharts/nope.svg', '/statecharts/connection.txt']) {
      const missing = await fetch(`${cli.url}${path}`, { headers: auth });
      expect(missing.status, path).toBe(404);
      await missing.body?.cancel();
    }
  });

  it('asks for the token once, keeps it in session storage and shows every actor healthy', async () => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of 401/.test(message.text())) errors.push(message.text());
    });
    await page.goto(cli.url);
    await page.locator('#login').waitFor({ state: 'visible' });
    await page.fill('#token-input', 'not-the-token');
    await page.click('#token-submit');
    await page.locator('#login-error', { hasText: 'not accepted' }).waitFor({ state: 'visible' });
    await page.fill('#token-input', token);
    await page.click('#token-submit');
    await cardIn('filesystem', 'healthy').waitFor();
    await cardIn('search', 'healthy').waitFor();
    await cardIn('fragile', 'healthy').waitFor();
    await page.locator('#stream-status[data-status="live"]').waitFor();
    expect(await page.locator('#login').isVisible()).toBe(false);
    expect(await page.evaluate(() => window.sessionStorage.getItem('mcp-supervisor.token') as string)).toBe(token);

    // Quality, latency sparkline and process facts arrive with the actor detail and the probes.
    const pid = (await detail('filesystem')).process?.pid;
    expect(pid).toBeTypeOf('number');
    await card('filesystem').locator('[data-fact="pid"] dd', { hasText: String(pid) }).waitFor();
    await expect.poll(async () => Number(await card('filesystem').locator('svg.spark').getAttribute('data-points')), { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(2);
    await expect.poll(() => card('filesystem').locator('.score-value').textContent(), { timeout: UI_TIMEOUT_MS }).toMatch(/^\d+$/);
    expect(await card('filesystem').locator('.latency').textContent()).toMatch(/p50 [\d.]+ ms/);
    expect(errors).toEqual([]);

    // A reload keeps the token (session storage): no second prompt.
    await page.reload();
    await cardIn('search', 'healthy').waitFor();
    expect(await page.locator('#login').isVisible()).toBe(false);
  });

  /** Requests a page holds (`hold`), until `release()`. */
  interface Held {
    release(): void;
    /** How many it holds (or held). */
    count(): number;
  }
  /**
   * Holds the requests to `url` that `pick` chooses (given how many it holds already) until
   * `release()`; then `answer` answers them, or by default the server does.
   */
  type Hold = (url: string, pick: (request: Request, heldSoFar: number) => boolean, answer?: (route: Route) => Promise<void>) => Promise<Held>;

  /**
   * Runs `use` on a page of its own browser context (so its own session storage, no token yet),
   * which is closed afterwards, every held request let go first.
   */
  async function withOwnPage(use: (target: Page, hold: Hold) => Promise<void>): Promise<void> {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    const releases: Array<() => void> = [];
    try {
      const target = await context.newPage();
      target.setDefaultTimeout(UI_TIMEOUT_MS);
      const hold: Hold = async (url, pick, answer) => {
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        releases.push(release);
        let held = 0;
        await target.route(url, async (route) => {
          if (pick(route.request(), held)) {
            held += 1;
            await released;
            if (answer) return void (await answer(route).catch(() => undefined));
          }
          await route.continue().catch(() => undefined);
        });
        return { release, count: () => held };
      };
      await use(target, hold);
    } finally {
      for (const release of releases) release();
      await context.close();
    }
  }
  /** Whether the page sent the request with a token. */
  const withToken = (request: Request) => request.headers().authorization !== undefined;
  /** Resolves with the next response `target` gets to `path` with this status. */
  const answered = (target: Page, path: string, status: number) => target.waitForResponse((response) => new URL(response.url()).pathname === path && response.status() === status);
  /**
   * One more round trip through the page. An answer already on its way to the page (seen by
   * Playwright) is handled before this one comes back.
   */
  const roundTrip = async (target: Page) => expect(await target.evaluate(() => fetch('/health').then((response: { status: number }) => response.status > 0) as Promise<boolean>)).toBe(true);
  /** The role the page's token has, read through the page (its error's text when refused). */
  const roleThroughPage = (target: Page) => target.evaluate(() => window.mcpDashboard.apiJson('/whoami').then((who: { role: string }) => who.role, String) as Promise<string>);
  const storedToken = (target: Page) => target.evaluate(() => window.sessionStorage.getItem('mcp-supervisor.token') as string | null);
  const signIn = async (target: Page, value: string) => {
    await target.fill('#token-input', value);
    await target.click('#token-submit');
  };

  it('keeps a token given while a request sent without it is still unanswered: that late 401 signs nothing out', () =>
    // The page's first reads go out with no token. Their 401s may come back in any order and
    // late (CI's load did this): the one that arrives after the user gave the token is stale.
    withOwnPage(async (other, hold) => {
      const first = await hold('**/whoami', (request) => !withToken(request));
      await other.goto(cli.url);
      await other.locator('#login').waitFor({ state: 'visible' });
      await expect.poll(first.count, { timeout: UI_TIMEOUT_MS }).toBe(1);
      const live = answered(other, '/events', 200);
      await signIn(other, token);
      await live;
      const stale = answered(other, '/whoami', 401);
      first.release();
      await stale;
      expect(await roleThroughPage(other)).toBe('admin'); // also the round trip
      await other.locator('.card[data-id="search"]').waitFor();
      expect(await other.locator('#login').isVisible()).toBe(false);
      expect(await storedToken(other)).toBe(token);
    }));

  it('/docs asks for the token, shows the API with it, and a late 401 to an earlier token does not take it back', () =>
    withOwnPage(async (docs, hold) => {
      const wrong = await hold('**/openapi.json', (request) => request.headers().authorization === 'Bearer not-the-token');
      await docs.goto(`${cli.url}/docs`);
      await docs.locator('#token-form').waitFor({ state: 'visible' });
      // A wrong token whose answer is slow, then the right one before it comes back.
      await docs.fill('#token-input', 'not-the-token');
      await docs.click('#token-form button[type="submit"]');
      await expect.poll(wrong.count, { timeout: UI_TIMEOUT_MS }).toBe(1);
      await docs.fill('#token-input', token);
      await docs.click('#token-form button[type="submit"]');
      await docs.locator('#swagger-ui .info .title', { hasText: 'mcp-supervisor' }).waitFor();
      const stale = answered(docs, '/openapi.json', 401);
      wrong.release();
      await stale;
      await roundTrip(docs);
      expect(await storedToken(docs)).toBe(token);
      expect(await docs.locator('#token-form').isVisible()).toBe(false);
    }));

  it('forget token ends the log tail and clears its lines; a /whoami answered after it sets no role', () =>
    withOwnPage(async (other, hold) => {
      // The token's own /whoami is held until after forget token.
      const whoami = await hold('**/whoami', withToken);
      await other.goto(`${cli.url}/#search`);
      const tail = other.waitForResponse((response) => /\/actors\/search\/logs\?/.test(response.url()) && response.status() === 200);
      await signIn(other, token);
      const tailRequest = (await tail).request();
      await expect.poll(() => other.locator('#logs-status').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('live');
      const called = await fetch(`${cli.url}/actors/search/tools/echo`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ message: 'a line' }) });
      expect(called.status).toBe(200);
      await called.body?.cancel();
      await other.locator('#logs li', { hasText: 'call echo' }).first().waitFor();
      await expect.poll(whoami.count, { timeout: UI_TIMEOUT_MS }).toBe(1);

      const ended = other.waitForEvent('requestfailed', (request) => request === tailRequest);
      await other.click('#sign-out');
      await other.locator('#login').waitFor({ state: 'visible' });
      expect((await ended).failure()?.errorText).toMatch(/ABORTED/);
      expect(await other.locator('#logs li').count()).toBe(0);

      const late = answered(other, '/whoami', 200);
      whoami.release();
      await late;
      await roundTrip(other);
      expect(await other.evaluate(() => document.body.dataset.role as string | undefined)).toBeUndefined();
    }));

  it('a late 401 to a request sent before forget token does not sign out the same token given again', () =>
    withOwnPage(async (other, hold) => {
      // The first /whoami sent with the token is held, then refused: as if the token had been
      // refused at that moment. Every later one goes through.
      const refusal = { status: 401, contentType: 'application/json', body: '{"error":{"code":"unauthorized","message":"missing or invalid token"}}' };
      const first = await hold('**/whoami', (request, heldSoFar) => withToken(request) && heldSoFar === 0, (route) => route.fulfill(refusal));
      await other.goto(cli.url);
      await signIn(other, token);
      await expect.poll(first.count, { timeout: UI_TIMEOUT_MS }).toBe(1);
      await other.click('#sign-out');
      await other.locator('#login').waitFor({ state: 'visible' });
      // The same token again: a new one as far as the page is concerned.
      await signIn(other, token);
      await other.locator('.card[data-id="search"]').waitFor();
      const stale = answered(other, '/whoami', 401);
      first.release();
      await stale;
      expect(await roleThroughPage(other)).toBe('admin'); // also the round trip
      expect(await other.locator('#login').isVisible()).toBe(false);
      expect(await storedToken(other)).toBe(token);
    }));

  it('says that a card opens its statechart, and opens it from the keyboard', async () => {
    const hint = card('search').locator('button.open-chart');
    expect(await hint.isVisible()).toBe(true);
    expect(await hint.textContent()).toMatch(/statechart/);
    expect(await card('search').getAttribute('title')).toMatch(/statechart/);
    expect(await hint.getAttribute('aria-expanded')).toBe('false');
    // The card takes the focus; Enter opens its chart, Escape closes it and gives the focus back.
    expect(await card('search').getAttribute('tabindex')).toBe('0');
    await card('search').focus();
    await page.keyboard.press('Enter');
    await page.locator('#detail[data-id="search"]').waitFor();
    expect(await hint.getAttribute('aria-expanded')).toBe('true');
    await page.keyboard.press('Escape');
    await page.locator('#detail').waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => document.activeElement?.dataset?.id as string)).toBe('search');
    // The hint is a button of its own: Tab reaches it, and it opens the chart too.
    await card('filesystem').focus();
    for (let tabs = 0; tabs < 10 && !(await card('filesystem').locator('button.open-chart:focus').count()); tabs++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.locator('#detail[data-id="filesystem"]').waitFor();
  });

  it("changes a killed server's card live, without a reload, and shows it reconnect", async () => {
    await page.evaluate(() => {
      window.__marker = 'same-page';
      window.__seenStates = {};
      for (const element of document.querySelectorAll('.card')) {
        const id = element.dataset.id as string;
        const seen: string[] = (window.__seenStates[id] = [element.dataset.state]);
        // Each record's oldValue is the value before one assignment, so the values assigned are
        // every oldValue after the first, then the current one; repeats are collapsed.
        const note = (state: string) => seen[seen.length - 1] !== state && seen.push(state);
        new MutationObserver((records: Array<{ oldValue: string }>) => {
          records.slice(1).forEach((record) => note(record.oldValue));
          note(element.dataset.state);
        }).observe(element, { attributes: true, attributeFilter: ['data-state'], attributeOldValue: true });
      }
    });
    await card('filesystem').locator('.name').click();
    await page.locator('#detail[data-id="filesystem"]').waitFor();

    const before = await detail('filesystem');
    const pid = before.process!.pid!;
    process.kill(pid, 'SIGKILL');
    await expect.poll(() => seenStates('filesystem'), { timeout: UI_TIMEOUT_MS }).toContain('reconnecting');
    await transitionsTo('reconnecting').first().waitFor();
    await cardIn('filesystem', 'healthy').waitFor();
    expect(await waitForExit(pid, 5_000)).toBe(true);

    // The new process's facts replace the old ones.
    await expect.poll(async () => (await detail('filesystem')).process?.pid, { timeout: UI_TIMEOUT_MS }).not.toBe(pid);
    const next = (await detail('filesystem')).process!.pid!;
    await card('filesystem').locator('[data-fact="pid"] dd', { hasText: String(next) }).waitFor();
    await card('filesystem').locator('[data-fact="last exit"] dd', { hasText: 'SIGKILL' }).waitFor();
    // The card now shows the view that carries the error it recovered from; healthy, it is history.
    expect((await detail('filesystem')).lastError?.message).toMatch(/SIGKILL/);
    expect(await cardIn('filesystem', 'healthy').count()).toBe(1);
    expect(await card('filesystem').locator('.last-error').isVisible()).toBe(false);

    // Still the same document: no navigation, no reload happened.
    expect(await page.evaluate(() => window.__marker as string)).toBe('same-page');
    expect(await page.evaluate(() => window.performance.getEntriesByType('navigation').length as number)).toBe(1);
    expect(await cardIn('search', 'healthy').count()).toBe(1);
  });

  it('reconnects a server from its card', async () => {
    await cardIn('filesystem', 'healthy').waitFor();
    const seenBefore = (await seenStates('filesystem')).filter((state) => state === 'reconnecting').length;
    const listedBefore = await transitionsTo('reconnecting').count();
    const pid = (await detail('filesystem')).process!.pid!;

    await card('filesystem').locator('button[data-command="reconnect"]').click();
    await expect.poll(async () => (await seenStates('filesystem')).filter((state) => state === 'reconnecting').length, { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(seenBefore);
    await expect.poll(() => transitionsTo('reconnecting').count(), { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(listedBefore);
    await cardIn('filesystem', 'healthy').waitFor();
    expect(await waitForExit(pid, 5_000)).toBe(true);
    expect(await page.evaluate(() => window.__marker as string)).toBe('same-page');
  });

  it("shows the selected actor's statechart with its current state highlighted", async () => {
    await cardIn('filesystem', 'healthy').waitFor();
    await page.locator('#detail[data-id="filesystem"]').waitFor();
    const chart = page.locator('#statechart');
    await page.locator('#statechart[data-mode="svg"], #statechart[data-mode="missing"]').waitFor();
    if (existsSync(statechartPath)) {
      // The generated chart marks each state's box with data-state="<path>" (or id="state-<path>");
      // `healthy` sits under `serving`.
      await chart.locator('svg :is([data-state="serving.healthy"], #state-serving_healthy).sc-active').waitFor();
      expect(await chart.locator('svg .sc-current').count()).toBe(1);
      // Zoomed to the state, no edge label is cut by the container; whole, none by the viewBox.
      await expectLabelsWhole();
      await page.click('#chart-zoom');
      await page.locator('#statechart:not(.zoomed)').waitFor();
      await expectLabelsWhole();
      expect((await chartLabels()).whole.length).toBe((await chartLabels()).total);
      await page.click('#chart-zoom');
      await page.locator('#statechart.zoomed').waitFor();
    } else {
      await chart.locator('.state-list li.current[data-state="healthy"]').waitFor();
      expect(await chart.locator('.state-list li').count()).toBe(7);
    }
    expect(await page.locator('#transitions li').count()).toBeGreaterThan(2);
  });

  it('highlights nested states in a chart, and falls back to the state list without one', () =>
    withOwnPage(async (other) => {
      let svg: string | undefined = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="100">',
        ...['connecting', 'serving', 'zombie', 'reconnecting', 'failed', 'stopped'].map(
          (state, index) => `<g data-state="${state}"><rect x="${index * 55}" y="10" width="50" height="30"/><text x="${index * 55}" y="30">${state}</text></g>`,
        ),
        '<g data-state="serving.healthy"><rect x="60" y="45" width="50" height="30"/></g>',
        '<g data-state="serving.degraded"><rect x="115" y="45" width="50" height="30"/></g>',
        '<g data-state="serving.healthy.idle"><rect x="60" y="80" width="40" height="20"/></g>',
        '<g data-state="serving.healthy.probing"><rect x="110" y="80" width="40" height="20"/></g>',
        '</svg>',
      ].join('');
      await other.route('**/statecharts/connection.svg', (route) =>
        svg ? route.fulfill({ status: 200, contentType: 'image/svg+xml', body: svg }) : route.fulfill({ status: 404, contentType: 'application/json', body: '{}' }),
      );
      await other.goto(`${cli.url}/#search`);
      await signIn(other, token);
      const chart = other.locator('#statechart');
      await chart.locator('svg g[data-state="serving.healthy"].sc-active').waitFor();
      await expect.poll(() => chart.locator('svg .sc-current').getAttribute('data-state'), { timeout: UI_TIMEOUT_MS }).toMatch(/^serving\.healthy\.(idle|probing)$/);
      // serving, serving.healthy and the leaf.
      expect(await chart.locator('svg .sc-active').count()).toBe(3);

      svg = undefined;
      await other.reload();
      await chart.locator('.state-list li.current[data-state="healthy"]').waitFor();
    }));

  it('shows why a server failed, offers reconnect (not start), and drops the error once it is healthy again', async () => {
    await commandsBecome('fragile', { reconnect: true, stop: true, start: false });
    expect(await card('fragile').locator('.last-error').isVisible()).toBe(false);
    await card('fragile').locator('button.open-chart').click();
    await page.locator('#detail[data-id="fragile"]').waitFor();

    const pid = (await detail('fragile')).process!.pid!;
    process.kill(pid, 'SIGKILL'); // restart: never, so it fails
    await cardIn('fragile', 'failed').waitFor();
    const error = card('fragile').locator('.last-error');
    await error.locator('.last-error-text', { hasText: /permanent.*SIGKILL/ }).waitFor({ state: 'visible' });
    expect(await error.locator('.last-error-head').textContent()).toMatch(/^last error · \d+s ago$/);
    await commandsBecome('fragile', { reconnect: true, stop: true, start: false });
    if (existsSync(statechartPath)) {
      await page.locator('#statechart svg #state-failed.sc-current').waitFor();
      await expectLabelsWhole();
    }

    await card('fragile').locator('button[data-command="reconnect"]').click();
    await cardIn('fragile', 'healthy').waitFor();
    expect(await waitForExit(pid, 5_000)).toBe(true);
    await expect.poll(async () => (await detail('fragile')).process?.pid, { timeout: UI_TIMEOUT_MS }).not.toBe(pid);
    const next = (await detail('fragile')).process!.pid!;
    await card('fragile').locator('[data-fact="pid"] dd', { hasText: String(next) }).waitFor();
    // The API still reports the error; the healthy card no longer shows it.
    expect((await detail('fragile')).lastError?.kind).toBe('permanent');
    expect(await cardIn('fragile', 'healthy').count()).toBe(1);
    expect(await error.isVisible()).toBe(false);
    await commandsBecome('fragile', { reconnect: true, stop: true, start: false });
  });

  it('stops and starts a server from its card, its buttons following its state; saves the screenshot', async () => {
    await commandsBecome('search', { reconnect: true, stop: true, start: false });
    await card('search').locator('button[data-command="stop"]').click();
    await cardIn('search', 'stopped').waitFor();
    await commandsBecome('search', { reconnect: false, stop: false, start: true });
    // The process ends a moment after the transition; the card follows without an event for it.
    await card('search').locator('[data-fact="pid"] dd', { hasText: /^–$/ }).waitFor();
    await card('search').locator('[data-fact="last exit"]').waitFor();
    await card('search').locator('button.open-chart').click();
    if (existsSync(statechartPath)) {
      await page.locator('#detail[data-id="search"] #statechart svg #state-stopped.sc-current').waitFor();
      await expectLabelsWhole();
    }

    // The picture: one server healthy with its chart open, one stopped, one failed with its error.
    const pid = (await detail('fragile')).process!.pid!;
    process.kill(pid, 'SIGKILL');
    await cardIn('fragile', 'failed').waitFor();
    await card('fragile').locator('.last-error').waitFor({ state: 'visible' });
    await card('filesystem').locator('button.open-chart').click();
    await cardIn('filesystem', 'healthy').waitFor();
    await page.locator('#detail[data-id="filesystem"] #statechart svg .sc-current').waitFor();
    await page.mouse.move(0, 0); // no hover effects in the picture
    await mkdir(dirname(screenshotPath), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true });
    expect((await stat(screenshotPath)).size).toBeGreaterThan(10_000);
    // Only the README's copy is kept; an ordinary run leaves nothing behind in the temp dir.
    if (process.env.SCREENSHOT !== '1') await rm(screenshotPath, { force: true });

    await card('search').locator('button[data-command="start"]').click();
    await cardIn('search', 'healthy').waitFor();
    await commandsBecome('search', { reconnect: true, stop: true, start: false });
    expect(await page.evaluate(() => window.__marker as string)).toBe('same-page');
  });
});
