// The dashboard (GET /) at 1000 actors, in a real headless Chromium against the real
// `mcp-supervisor` command: 1000 Streamable HTTP servers that are sessions on a few fixture
// processes (one process serves many sessions), so the fleet is real without 1000 processes.
// What it checks is behaviour, not speed (that is bench/scenarios/42-dashboard-scale.ts): the
// counts by state cover the fleet, the document holds a bounded number of cards, no actor's
// detail is read but the selected one's, and a live change reaches the counts and the card.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, requireChromium } from '../support/chromium.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpFixture } from '../../fixtures/http-fixture.js';
import type { HttpFixture } from '../../fixtures/http-fixture.js';
import { describePids, waitForNoDescendants } from '../support/processes.js';
import { killAllClis, startCli, waitUntil } from '../support/cli.js';
import type { Cli } from '../support/cli.js';

// Globals of the page, used only inside functions Playwright runs in the browser (this project's
// tsconfig has no DOM lib).
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const UI_TIMEOUT_MS = 15_000;
const ACTORS = 1_000;
const FIXTURES = 4;
/** Far more than a window of cards at 1280×800 (about 30), far fewer than the fleet. */
const MAX_CARDS = 200;
const ids = Array.from({ length: ACTORS }, (_, index) => `srv-${String(index).padStart(4, '0')}`);
const LAST = ids[ACTORS - 1]!;
const MIDDLE = ids[ACTORS / 2]!;

let dir: string;
const fixtures: HttpFixture[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-supervisor-dashboard-scale-'));
});

afterAll(async () => {
  killAllClis();
  await Promise.all(fixtures.map((fixture) => fixture.stop()));
  const left = await waitForNoDescendants(10_000);
  await rm(dir, { recursive: true, force: true });
  expect(left, describePids(left)).toEqual([]);
});

describe(`dashboard at ${ACTORS} actors, in headless Chromium against the real CLI`, () => {
  const token = `token-${randomBytes(8).toString('hex')}`;
  const auth = { authorization: `Bearer ${token}` };
  let cli: Cli;
  let browser: Browser | undefined;
  let page: Page;
  /** Every GET /actors/<id> the page made (detail reads), in order. */
  const detailReads: string[] = [];
  /** Every GET /actors?… the page made (list reads). */
  const listReads: string[] = [];
  const errors: string[] = [];

  /** The summary's counts by state, as the page shows them. */
  const counts = () =>
    page.evaluate(() => {
      const shown: Record<string, number> = {};
      for (const button of document.querySelectorAll('#summary .count')) shown[button.dataset.state as string] = Number(button.dataset.count);
      return shown;
    });
  const total = (byState: Record<string, number>) => Object.values(byState).reduce((sum, count) => sum + count, 0);
  const cards = () => page.locator('.card').count();
  const card = (id: string) => page.locator(`.card[data-id="${id}"]`);
  const cardIn = (id: string, state: string) => page.locator(`.card[data-id="${id}"][data-state="${state}"]`);
  /** Serving: the fleet's probes may find an actor slow now and then on a busy machine (degraded). */
  const cardServing = (id: string) => page.locator(`.card[data-id="${id}"]:is([data-state="healthy"], [data-state="degraded"])`);
  const api = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${cli.url}${path}`, { ...init, headers: auth, signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as unknown;
  };
  const servingCount = async () => ((await api(`/actors?state=healthy,degraded&limit=1000`)) as { actors: unknown[] }).actors.length;
  const search = async (text: string) => {
    await page.fill('#search', text);
  };

  beforeAll(async () => {
    requireChromium();
    for (let index = 0; index < FIXTURES; index++) fixtures.push(await startHttpFixture());
    const configPath = join(dir, 'mcp.json');
    const mcpServers = Object.fromEntries(ids.map((id, index) => [id, { type: 'streamable-http', url: fixtures[index % FIXTURES]!.mcpUrl, era: 'legacy' }]));
    // Probes every few seconds: at this size a steady stream of live events while the page is open.
    const health = { healthyIntervalMs: 3_000, stableIntervalMs: 6_000, initialBackoffMs: 50, maxBackoffMs: 300 };
    await writeFile(configPath, `${JSON.stringify({ supervisor: { maxConcurrentReconnects: 32, health }, mcpServers })}\n`);
    cli = await startCli(['--config', configPath, '--port', '0', '--token', token, '--log-level', 'warn']);
    await waitUntil(async () => (await servingCount()) === ACTORS || undefined, 45_000, () => `not all ${ACTORS} connected; stderr:\n${cli.stderr().slice(-2000)}`, cli.exited, 250);

    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('request', (request) => {
      const { pathname, search: query } = new URL(request.url());
      if (request.method() !== 'GET') return;
      if (pathname === '/actors') listReads.push(query);
      else if (/^\/actors\/[^/]+$/.test(pathname)) detailReads.push(decodeURIComponent(pathname.slice('/actors/'.length)));
    });
    // The token as the login form leaves it (dashboard.test.ts covers the form itself).
    await page.addInitScript((value: string) => window.sessionStorage.setItem('mcp-supervisor.token', value), token);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (cli && cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });

  it('counts every actor by state, holds a bounded number of cards and reads no actor detail', async () => {
    await page.goto(cli.url);
    await page.locator(`#total[data-count="${ACTORS}"]`).waitFor();
    await page.locator('#summary .count[data-state="healthy"]').waitFor();
    expect(total(await counts())).toBe(ACTORS);
    await card(ids[0]!).waitFor();
    await page.locator('#stream-status[data-status="live"]').waitFor();
    const drawn = await cards();
    expect(drawn).toBeGreaterThan(0);
    expect(drawn).toBeLessThan(MAX_CARDS);
    // The list came from GET /actors alone: no detail read for any actor (none is selected).
    expect(detailReads).toEqual([]);
    expect(listReads.length).toBeGreaterThan(0);

    // The page is as tall as the whole list; at its end are the last actors, and still few cards.
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await card(LAST).waitFor();
    expect(await cards()).toBeLessThan(MAX_CARDS);
    expect(await card(ids[0]!).count()).toBe(0);
    await page.evaluate(() => window.scrollTo(0, 0));
    await card(ids[0]!).waitFor();
    expect(detailReads).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('shows a live change in the counts and, filtered into view, on its card', async () => {
    await api(`/actors/${MIDDLE}/stop`, { method: 'POST' });
    await page.locator('#summary .count[data-state="stopped"][data-count="1"]').waitFor();
    expect(total(await counts())).toBe(ACTORS);
    // The middle of the list is not drawn: the change was counted without its card.
    expect(await card(MIDDLE).count()).toBe(0);

    // The state's count is a filter: only the stopped actor is listed.
    await page.click('#summary .count[data-state="stopped"]');
    await cardIn(MIDDLE, 'stopped').waitFor();
    expect(await cards()).toBe(1);
    await page.locator('#shown', { hasText: `1 of ${ACTORS}` }).waitFor();
    await page.click('#summary .count[data-state="stopped"]');
    await expect.poll(cards, { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(1);

    // By id: the card follows its actor live, back to healthy.
    await search(MIDDLE);
    await cardIn(MIDDLE, 'stopped').waitFor();
    expect(await cards()).toBe(1);
    await card(MIDDLE).locator('button[data-command="start"]').click();
    await cardServing(MIDDLE).waitFor();
    await page.locator('#summary .count[data-state="stopped"]').waitFor({ state: 'hidden' });
    expect(total(await counts())).toBe(ACTORS);
    expect(detailReads).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('finds the last actor by id and shows its detail, reading only its detail', async () => {
    await search(LAST.slice(-3)); // "999": the last actor only
    await card(LAST).waitFor();
    expect(await cards()).toBe(1);
    await card(LAST).locator('button.open-chart').click();
    await page.locator(`#detail[data-id="${LAST}"]`).waitFor();
    await page.locator('#transitions li[data-to="healthy"]').first().waitFor();
    expect(new URL(page.url()).hash).toBe(`#${LAST}`);
    expect(new Set(detailReads)).toEqual(new Set([LAST]));

    // The selection survives a reload (URL fragment): its card is drawn, scrolled into view.
    await page.fill('#search', '');
    detailReads.length = 0;
    await page.reload();
    await page.locator(`#detail[data-id="${LAST}"]`).waitFor();
    await card(LAST).waitFor();
    const rect = await page.evaluate((id: string) => {
      const { top, bottom } = document.querySelector(`.card[data-id="${id}"]`).getBoundingClientRect();
      return { top: top as number, bottom: bottom as number, height: window.innerHeight as number };
    }, LAST);
    expect(rect.top).toBeGreaterThanOrEqual(0);
    expect(rect.bottom).toBeLessThanOrEqual(rect.height);
    expect(await cards()).toBeLessThan(MAX_CARDS);
    expect(new Set(detailReads)).toEqual(new Set([LAST]));
    expect(errors).toEqual([]);
  });
});
