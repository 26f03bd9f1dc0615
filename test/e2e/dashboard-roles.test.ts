// Roles end to end: the real CLI with a viewer, an operator and an admin token in its config, the
// dashboard in headless Chromium showing each only what it may do, the API refusing the rest,
// and the audit trail on disk next to the config.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { launchChromium, requireChromium } from '../support/chromium.js';
import { FAST_HEALTH, killAllClis, spawnCli, startCli, waitUntil } from '../support/cli.js';
import type { Cli } from '../support/cli.js';
import { describePids, waitForNoDescendants } from '../support/processes.js';

// The page's global, used only inside functions Playwright runs in the browser (no DOM lib here).
declare const sessionStorage: { setItem(key: string, value: string): void };
const UI_TIMEOUT_MS = 15_000;
const token = (role: string) => `${role}-${randomBytes(12).toString('hex')}`;
const TOKENS = { viewer: token('viewer'), operator: token('operator'), admin: token('admin') };

let dir: string;
let cli: Cli;
let browser: Browser | undefined;

beforeAll(async () => {
  requireChromium();
  dir = await mkdtemp(join(tmpdir(), 'mcp-roles-'));
  const config = {
    supervisor: {
      health: FAST_HEALTH,
      tokens: [
        { name: 'vera', role: 'viewer', token: TOKENS.viewer },
        // Given by hash: the config holds no secret for this one.
        { name: 'otto', role: 'operator', sha256: createHash('sha256').update(TOKENS.operator).digest('hex') },
        { name: 'ada', role: 'admin', token: '${ADMIN_TOKEN}' },
      ],
    },
    mcpServers: { files: { command: process.execPath, args: [fixtureServerPath, 'stdio'] } },
  };
  await writeFile(join(dir, 'mcp.json'), JSON.stringify(config, null, 2));
  cli = await startCli(['--config', join(dir, 'mcp.json'), '--port', '0'], { ADMIN_TOKEN: TOKENS.admin });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  killAllClis();
  const left = await waitForNoDescendants(10_000);
  await rm(dir, { recursive: true, force: true });
  expect(left, describePids(left)).toEqual([]);
});

describe('roles, end to end', () => {
  it('the dashboard shows each role only what it may do', async () => {
    const shown = async (role: keyof typeof TOKENS) => {
      const page = await browser!.newPage();
      try {
        await page.addInitScript((value: string) => sessionStorage.setItem('mcp-supervisor.token', value), TOKENS[role]);
        await page.goto(cli.url);
        await page.locator('.card[data-id="files"][data-state="healthy"]').waitFor({ timeout: UI_TIMEOUT_MS });
        await page.locator(`body[data-role="${role}"]`).waitFor({ state: 'attached', timeout: UI_TIMEOUT_MS });
        return {
          stop: await page.locator('.card[data-id="files"] button[data-command="stop"]').isVisible(),
          newServer: await page.locator('#new-server').isVisible(),
          html: await page.content(),
        };
      } finally {
        await page.close();
      }
    };
    const viewer = await shown('viewer');
    expect({ stop: viewer.stop, newServer: viewer.newServer }).toEqual({ stop: false, newServer: false });
    const operator = await shown('operator');
    expect({ stop: operator.stop, newServer: operator.newServer }).toEqual({ stop: true, newServer: false });
    const admin = await shown('admin');
    expect({ stop: admin.stop, newServer: admin.newServer }).toEqual({ stop: true, newServer: true });
    for (const page of [viewer, operator, admin]) for (const value of Object.values(TOKENS)) expect(page.html).not.toContain(value);
  });

  it('the API refuses beyond the role, and the audit trail next to the config records who tried', async () => {
    const as = (role: keyof typeof TOKENS) => ({ Authorization: `Bearer ${TOKENS[role]}` });
    const refused = await fetch(`${cli.url}/actors/files/reconnect`, { method: 'POST', headers: as('viewer') });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe('this request needs the "operator" role; token "vera" has "viewer"');
    const done = await fetch(`${cli.url}/actors/files/probe`, { method: 'POST', headers: as('operator') });
    expect(done.status).toBe(200);
    const file = join(dir, 'audit', 'audit.log');
    const records = await waitUntil(
      () => {
        try {
          const lines = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
          return lines.length >= 2 ? lines.map((line) => JSON.parse(line) as Record<string, unknown>) : undefined;
        } catch {
          return undefined;
        }
      },
      5_000,
      () => `two lines in ${file}`,
    );
    expect(records.map(({ token: name, action, outcome }) => ({ name, action, outcome }))).toEqual([
      { name: 'vera', action: 'reconnect', outcome: 'denied' },
      { name: 'otto', action: 'probe', outcome: 'ok' },
    ]);
    const text = readFileSync(file, 'utf8');
    for (const value of Object.values(TOKENS)) expect(text).not.toContain(value);
    const api = (await (await fetch(`${cli.url}/audit?actor=files`, { headers: as('viewer') })).json()) as { records: unknown[] };
    expect(api.records).toHaveLength(2);
  });

  it('--check lists every bad token at once, and an unwritable audit directory', async () => {
    const config = join(dir, 'bad.json');
    const blocker = join(dir, 'blocker');
    await writeFile(blocker, '');
    await writeFile(
      config,
      JSON.stringify({
        supervisor: {
          tokens: [
            { name: 'a', role: 'superuser', token: TOKENS.viewer },
            { name: 'a', role: 'viewer', token: TOKENS.viewer },
          ],
          audit: { file: 'blocker/audit.log' },
        },
        mcpServers: {},
      }),
    );
    const check = spawnCli(['--check', '--config', config]);
    const { code } = await check.exited;
    expect(code).not.toBe(0);
    const out = check.stderr() + check.stdout();
    expect(out).toMatch(/supervisor\.tokens\.0\.role/);
    expect(out).toMatch(/duplicate token name "a"/);
    expect(out).toMatch(/duplicate token: the same token as tokens\.0/);
    expect(out).toMatch(/supervisor\.audit\.file/);
    expect(out).not.toContain(TOKENS.viewer);
  });
});
