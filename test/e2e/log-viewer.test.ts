// The dashboard's log panel (src/http/dashboard/log-viewer.js) in headless Chromium, against a
// real HTTP server of the app (in this process, from src) supervising a real stdio server that
// writes to stderr on demand (test/fixtures/chatty-server.mjs, tool `say`), with file logs on.
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerDefinition } from '../../src/config/load.js';
import { resolveSettings } from '../../src/core/settings.js';
import { Supervisor } from '../../src/fleet/supervisor.js';
import { createApp } from '../../src/http/app.js';
import { ServerLogFiles } from '../../src/observe/server-logs.js';
import { launchChromium } from '../support/chromium.js';
import { describePids, waitForNoDescendants } from '../support/processes.js';
import { until } from '../support/wait.js';

declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const chatty = fileURLToPath(new URL('../fixtures/chatty-server.mjs', import.meta.url));
const UI_TIMEOUT_MS = 15_000;

let dir: string;
let supervisor: Supervisor;
let files: ServerLogFiles;
let server: Server;
let url: string;
let browser: Browser | undefined;
let page: Page;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-log-viewer-'));
  files = new ServerLogFiles({ dir });
  const definition: ServerDefinition = {
    id: 'chatty',
    target: { type: 'stdio', command: process.execPath, args: [chatty, 'stdio'] },
    priority: 0,
    dependsOn: [],
    required: true,
    disabled: false,
    settings: resolveSettings({}),
  };
  supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: [definition] }, { logSink: files, processSampleIntervalMs: 0 });
  const app = createApp({ supervisor, serverLogs: files, eventStream: { keepAliveMs: 0 } });
  server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await supervisor.ready('chatty', 15_000);
  browser = await launchChromium();
  page = await browser.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await supervisor?.stop();
  await files?.closeAll();
  await rm(dir, { recursive: true, force: true });
  const left = await waitForNoDescendants(10_000);
  expect(left, describePids(left)).toEqual([]);
});

const shownLines = () => page.evaluate(() => [...document.querySelectorAll('#logs li .log-text')].map((node: { textContent: string }) => node.textContent) as string[]);

async function say(text: string): Promise<void> {
  await supervisor.callTool('chatty', 'say', { text });
  const last = text.split('\n').at(-1) ?? '';
  await until(() => supervisor.logs('chatty').some((line) => line.text === last), `the line "${last}"`);
}

describe('dashboard log viewer', () => {
  it('tails the selected server live, narrows by search, filters by stream, and shows hostile lines as text', async () => {
    await say('before the page: alpha');
    await page.goto(url);
    await page.locator('.card[data-id="chatty"] .name').click();
    await expect.poll(() => page.locator('#logs-status').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('live');
    // History first (from the files and the ring)…
    await expect.poll(shownLines, { timeout: UI_TIMEOUT_MS }).toContain('before the page: alpha');

    // …then lines as the server writes them, including markup, shown as text and never run.
    const hostile = '<img src=x onerror="window.__pwned=1"> <b>bold</b>';
    await say(`live: beta\n${hostile}`);
    await expect.poll(shownLines, { timeout: UI_TIMEOUT_MS }).toEqual(expect.arrayContaining(['live: beta', hostile]));
    expect(await page.evaluate(() => document.querySelectorAll('#logs img, #logs b').length)).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();

    // Search: only matching lines, history and live (case-insensitive).
    await page.fill('#logs-grep', 'BETA');
    await expect.poll(shownLines, { timeout: UI_TIMEOUT_MS }).toEqual(['live: beta']);
    await expect.poll(() => page.locator('#logs-status').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('live');
    await say('gamma\nanother beta');
    await expect.poll(shownLines, { timeout: UI_TIMEOUT_MS }).toEqual(['live: beta', 'another beta']);

    // Stream: the stdio server writes stderr only (stdout is its protocol).
    await page.selectOption('#logs-stream', 'stdout');
    await expect.poll(() => page.locator('#logs-empty').isVisible(), { timeout: UI_TIMEOUT_MS }).toBe(true);
    expect(await shownLines()).toEqual([]);
    await page.selectOption('#logs-stream', 'stderr');
    await expect.poll(shownLines, { timeout: UI_TIMEOUT_MS }).toEqual(['live: beta', 'another beta']);
    expect(await page.evaluate(() => [...document.querySelectorAll('#logs li .log-stream')].map((node: { textContent: string }) => node.textContent))).toEqual(['stderr', 'stderr']);

    // Clearing the search brings every line back.
    await page.fill('#logs-grep', '');
    await expect.poll(shownLines, { timeout: UI_TIMEOUT_MS }).toEqual(expect.arrayContaining(['before the page: alpha', 'gamma', 'another beta']));
    // For a look at the panel (the temp dir: the working tree stays as it was).
    await page.screenshot({ path: join(tmpdir(), `mcp-log-viewer-${process.pid}.png`), fullPage: true });
  });
});
