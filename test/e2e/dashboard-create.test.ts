// The dashboard's "new server" form (src/http/dashboard/create-form.js) in a real headless Chromium,
// against the real `mcp-supervisor` command: validated by the API's dry run as it is typed, a
// preview that never shows a secret value, a server created, healthy, persisted, then removed.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { launchChromium, requireChromium } from '../support/chromium.js';
import { FAST_HEALTH, killAllClis, startCli } from '../support/cli.js';
import type { Cli } from '../support/cli.js';
import { describePids, descendantPids, waitForExit, waitForNoDescendants } from '../support/processes.js';

// Globals of the page, used only inside functions Playwright runs in the browser (no DOM lib here).
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const navigator: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const UI_TIMEOUT_MS = 15_000;
const run = promisify(execFile);

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-supervisor-create-'));
});

afterAll(async () => {
  killAllClis();
  const left = await waitForNoDescendants(10_000);
  await rm(dir, { recursive: true, force: true });
  expect(left, describePids(left)).toEqual([]);
});

describe('creating a server from the dashboard, in headless Chromium against the real CLI', () => {
  const token = `token-${randomBytes(8).toString('hex')}`;
  const auth = { authorization: `Bearer ${token}` };
  // Typed into the form's password inputs only: it must appear nowhere in the page.
  const envSecret = `sk-env-${randomBytes(8).toString('hex')}`;
  const headerSecret = `Bearer hdr-${randomBytes(8).toString('hex')}`;
  let configPath: string;
  let cli: Cli;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];

  const cardIn = (id: string, state: string) => page.locator(`.card[data-id="${id}"][data-state="${state}"]`);
  const fieldError = (field: string) => page.locator(`#create-dialog .field-error[data-error-for="${field}"]`);
  const previewJson = () => page.locator('#create-preview-json').textContent() as Promise<string>;
  const previewCurl = () => page.locator('#create-preview-curl').textContent() as Promise<string>;
  const serversInFile = async () => (JSON.parse(await readFile(configPath, 'utf8')) as { mcpServers: Record<string, unknown> }).mcpServers;
  /**
   * Everything the page holds where a value could hide: its HTML, its text, every field's value
   * (but the password inputs' while the form is being filled: that is where a secret is typed), its storage.
   */
  const pageState = (passwords: boolean) =>
    page.evaluate((withPasswords: boolean) =>
      JSON.stringify({
        html: document.documentElement.outerHTML,
        text: document.body.innerText,
        values: [...document.querySelectorAll(withPasswords ? 'input, textarea, select' : 'input:not([type="password"]), textarea, select')].map(
          (element: { value: string }) => element.value,
        ),
        session: { ...window.sessionStorage },
        local: { ...window.localStorage },
        title: document.title,
        hash: window.location.hash,
      }),
    passwords);

  beforeAll(async () => {
    requireChromium();
    configPath = join(dir, 'mcp.json');
    const config = {
      supervisor: { maxConcurrentReconnects: 4, health: FAST_HEALTH },
      mcpServers: { base: { command: process.execPath, args: [fixtureServerPath, 'stdio'] } },
    };
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
    cli = await startCli(['--config', configPath, '--port', '0', '--token', token]);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: cli.url });
    page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    page.on('pageerror', (error) => errors.push(String(error)));
    // A CSP violation (an inline handler, an eval) is reported here too.
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of (401|400|409)/.test(message.text())) errors.push(`${message.text()} ${message.location().url}`);
    });
    await page.goto(cli.url);
    await page.fill('#token-input', token);
    await page.click('#token-submit');
    await cardIn('base', 'healthy').waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    if (cli && cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });

  it('opens the form from the top bar; the preview follows what is typed, with secrets as ${NAME}', async () => {
    await page.click('#new-server');
    await page.locator('#create-dialog[open]').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id as string)).toBe('create-id');
    // The existing servers are the choices for dependsOn.
    expect(await page.locator('#create-depends-on option').allTextContents()).toEqual(['base']);

    // An HTTP server first: a URL, and a header whose value is never shown.
    await page.fill('#create-id', 'remote');
    await page.selectOption('#create-type', 'streamable-http');
    await page.locator('#create-url').waitFor({ state: 'visible' });
    expect(await page.locator('#create-command').isVisible()).toBe(false);
    await page.fill('#create-url', 'http://127.0.0.1:9/mcp');
    await page.click('#create-headers-add');
    await page.locator('#create-headers-rows .pair-name').fill('Authorization');
    await page.locator('#create-headers-rows .pair-value').fill(headerSecret);
    expect(await page.locator('#create-headers-rows .pair-value').getAttribute('type')).toBe('password');
    await expect.poll(previewJson).toContain('${AUTHORIZATION}');
    expect(JSON.parse(await previewJson())).toEqual({
      mcpServers: { remote: { type: 'streamable-http', url: 'http://127.0.0.1:9/mcp', headers: { Authorization: '${AUTHORIZATION}' } } },
    });
    expect(await previewCurl()).toContain(`"Authorization":"'"\${AUTHORIZATION}"'"`);
    expect(await pageState(false)).not.toContain(headerSecret);
    expect(await previewCurl()).not.toContain(headerSecret);

    // Now the stdio server this test creates.
    await page.click('#create-headers-rows .pair-remove');
    await page.selectOption('#create-type', 'stdio');
    await page.fill('#create-id', 'made');
    await page.fill('#create-command', process.execPath);
    await page.fill('#create-args', `${fixtureServerPath}\nstdio`);
    await page.click('#create-env-add');
    await page.locator('#create-env-rows .pair-name').fill('API_KEY');
    await page.locator('#create-env-rows .pair-value').fill(envSecret);
    await page.fill('#create-priority', '3');
    await page.selectOption('#create-depends-on', ['base']);
    await page.click('#create-health summary');
    await page.fill('#create-health-pingTimeoutMs', '1500');

    const expectedEntry = { command: process.execPath, args: [fixtureServerPath, 'stdio'], env: { API_KEY: '${API_KEY}' }, priority: 3, dependsOn: ['base'], health: { pingTimeoutMs: 1500 } };
    await expect.poll(async () => JSON.parse(await previewJson())).toEqual({ mcpServers: { made: expectedEntry } });
    const curl = await previewCurl();
    expect(curl).toContain(`'${cli.url}/actors'`);
    expect(curl).toContain('-H "Authorization: Bearer $MCP_SUPERVISOR_TOKEN"');
    expect(curl).toContain(JSON.stringify(process.execPath));
    expect(curl).toContain(`"API_KEY":"'"\${API_KEY}"'"`);
    expect(curl).not.toContain(token);
    expect(await page.locator('#create-preview-secrets').textContent()).toContain('${API_KEY}');
    // Typed into the page, yet nowhere in it but its password input: not in the HTML, the text,
    // the preview, another input, the storage.
    const state = await pageState(false);
    expect(state).not.toContain(envSecret);
    // (The token is in session storage, by design: docs/security.md; but not in the page.)
    expect(await page.content()).not.toContain(token);
    expect(await page.locator('#create-env-rows .pair-value').inputValue()).toBe(envSecret); // (the one place it is)

    // The curl command is real shell: run against the dry run, with the variables it names set.
    const dryCurl = curl.replace(`${cli.url}/actors`, `${cli.url}/actors?dryRun=1`);
    const { stdout } = await run('sh', ['-c', dryCurl], { env: { ...process.env, MCP_SUPERVISOR_TOKEN: token, API_KEY: envSecret }, timeout: 10_000 });
    expect(JSON.parse(stdout)).toEqual({ valid: true });

    // The copy button puts exactly the preview on the clipboard.
    await page.click('#copy-curl');
    await page.locator('#copy-curl[data-copied="clipboard"]').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText() as Promise<string>)).toBe(curl);
  });

  it("shows the dry run's issues next to their fields as they are typed", async () => {
    await page.fill('#create-priority', 'abc');
    await fieldError('priority').filter({ hasText: /expected number/ }).waitFor();
    expect(await page.locator('#create-priority').getAttribute('aria-invalid')).toBe('true');
    await page.fill('#create-command', '');
    await fieldError('command').filter({ hasText: 'command must not be empty' }).waitFor();
    // Fixed, the issues go; nothing else was ever shown.
    await page.fill('#create-priority', '3');
    await page.fill('#create-command', process.execPath);
    await fieldError('priority').waitFor({ state: 'hidden' });
    await fieldError('command').waitFor({ state: 'hidden' });
    // A taken id is the id's issue.
    await page.fill('#create-id', 'base');
    await fieldError('id').filter({ hasText: /already|exists|duplicate/i }).waitFor();
    await page.fill('#create-id', 'made');
    await fieldError('id').waitFor({ state: 'hidden' });
    await page.locator('#create-form[data-valid="true"]:not([data-checking])').waitFor();
    // The dry runs created nothing.
    expect(Object.keys(await serversInFile())).toEqual(['base']);
    const { actors } = (await (await fetch(`${cli.url}/actors`, { headers: auth })).json()) as { actors: Array<{ id: string }> };
    expect(actors.map((actor) => actor.id)).toEqual(['base']);
  });

  it('creates it: the card appears and goes healthy, the file has the entry, the page keeps no secret', async () => {
    const before = descendantPids(cli.child.pid!);
    await page.click('#create-submit');
    await page.locator('#create-dialog').waitFor({ state: 'hidden' });
    await page.locator('#create-announce', { hasText: 'created "made"' }).waitFor();
    await cardIn('made', 'healthy').waitFor();
    // The form opened the new server's panel.
    await page.locator('#detail[data-id="made"]').waitFor();

    // Persisted: exactly what the form was given, the secret as typed (it is the entry's value).
    expect((await serversInFile()).made).toEqual({
      command: process.execPath,
      args: [fixtureServerPath, 'stdio'],
      env: { API_KEY: envSecret },
      priority: 3,
      dependsOn: ['base'],
      health: { pingTimeoutMs: 1500 },
    });
    expect(descendantPids(cli.child.pid!).length).toBeGreaterThan(before.length);

    // After a create, the page holds nothing typed: the form is empty, secrets included.
    expect(await page.locator('#create-env-rows .pair').count()).toBe(0);
    expect(await page.inputValue('#create-id')).toBe('');
    const state = await pageState(true);
    expect(state).not.toContain(envSecret);
    expect(state).not.toContain(headerSecret);
    // Nor does the API show it.
    const detail = await (await fetch(`${cli.url}/actors/made`, { headers: auth })).text();
    expect(detail).not.toContain(envSecret);
    expect(errors).toEqual([]);
  });

  it('removes it from its panel after a confirmation: it leaves the list, the file and the process table', async () => {
    const pid = ((await (await fetch(`${cli.url}/actors/made`, { headers: auth })).json()) as { process?: { pid: number } }).process?.pid;
    expect(pid).toBeTypeOf('number');
    await page.click('#remove-server');
    await page.locator('#remove-confirm-id', { hasText: 'made' }).waitFor();
    // Cancel does nothing.
    await page.click('#remove-confirm-no');
    await page.locator('#remove-confirm').waitFor({ state: 'hidden' });
    expect(await cardIn('made', 'healthy').count()).toBe(1);

    await page.click('#remove-server');
    await page.click('#remove-confirm-yes');
    await page.locator('.card[data-id="made"]').waitFor({ state: 'detached' });
    await page.locator('#detail').waitFor({ state: 'hidden' });
    expect(Object.keys(await serversInFile())).toEqual(['base']);
    expect(await waitForExit(pid!, 5_000)).toBe(true);
    expect(await cardIn('base', 'healthy').count()).toBe(1);
    expect(errors).toEqual([]);
  });

  it('shows a refused registration next to its field; the file is never given a value the test did not give', async () => {
    await page.click('.card[data-id="base"] .name');
    await page.locator('#detail[data-id="base"]').waitFor();
    await page.click('#new-server');
    await page.locator('#create-dialog[open]').waitFor();
    // The form was emptied by the create: nothing of the last server is back.
    expect(await page.inputValue('#create-command')).toBe('');
    await page.fill('#create-id', 'broken');
    await page.fill('#create-command', process.execPath);
    expect(await page.locator('#create-health').getAttribute('open')).toBeNull();
    await page.click('#create-health summary');
    await page.fill('#create-health-zombieAfter', '0');
    // Submitted at once (a dry run may not have answered yet): the registration's own 400 shows at the field.
    await page.click('#create-submit');
    await fieldError('health.zombieAfter').filter({ hasText: />=\s*1|too small/i }).waitFor();
    expect(await page.locator('#create-dialog').isVisible()).toBe(true);
    expect(await serversInFile()).toEqual({ base: { command: process.execPath, args: [fixtureServerPath, 'stdio'] } });
    // Escape closes the form, and only the form: the panel behind it stays open.
    await page.keyboard.press('Escape');
    await page.locator('#create-dialog').waitFor({ state: 'hidden' });
    expect(await page.locator('#detail[data-id="base"]').isVisible()).toBe(true);
    expect(errors).toEqual([]);
  });

  it.each([
    ['its own dry run', (url: URL) => url.pathname === '/actors' && url.searchParams.get('dryRun') === '1'],
    // The page reads the views again every 5 s.
    ['another read of the page', (url: URL) => url.pathname === '/actors' && url.searchParams.has('limit')],
  ])('a token refused while the form is open, to %s, empties and closes it and focuses the token field', async (_, refusedRead) => {
    const other = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const refused = await other.newPage();
      refused.setDefaultTimeout(UI_TIMEOUT_MS);
      await refused.goto(cli.url);
      await refused.fill('#token-input', token);
      await refused.click('#token-submit');
      await refused.locator('.card[data-id="base"]').waitFor();
      await refused.click('#new-server');
      await refused.locator('#create-dialog[open]').waitFor();
      await refused.fill('#create-id', 'typed');
      await refused.click('#create-env-add');
      await refused.locator('#create-env-rows .pair-name').fill('API_KEY');
      await refused.locator('#create-env-rows .pair-value').fill(envSecret);
      // From here the API refuses that read, as it would after the token was changed; a
      // keystroke sends a dry run.
      await refused.route(refusedRead, (route) =>
        route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unauthorized', message: 'missing or invalid token' } }) }),
      );
      await refused.fill('#create-id', 'typed-again');
      await refused.locator('#login').waitFor({ state: 'visible' });
      expect(await refused.locator('#create-dialog').isVisible()).toBe(false);
      await expect.poll(() => refused.evaluate(() => document.activeElement?.id as string), { timeout: UI_TIMEOUT_MS }).toBe('token-input');
      expect(await refused.inputValue('#create-id')).toBe('');
      expect(await refused.locator('#create-env-rows .pair-value').count()).toBe(0);
      expect(await refused.evaluate(() => window.sessionStorage.getItem('mcp-supervisor.token') as string | null)).toBeNull();
      expect(
        await refused.evaluate(() =>
          JSON.stringify({ html: document.documentElement.outerHTML, values: [...document.querySelectorAll('input, textarea, select')].map((element: { value: string }) => element.value) }),
        ),
      ).not.toContain(envSecret);
    } finally {
      await other.close();
    }
  });
});
