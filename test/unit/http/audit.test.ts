// The audit trail on a real supervisor of in-process servers: every state-changing request is
// recorded once (refused ones too), read back through GET /audit, streamed on /events, and never
// carries a request body.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { z } from 'zod';
import type { ServerDefinition } from '../../../src/config/load.js';
import { resolveSettings } from '../../../src/core/settings.js';
import { Supervisor } from '../../../src/fleet/supervisor.js';
import { createApp } from '../../../src/http/app.js';
import { AuditTrail } from '../../../src/observe/audit.js';
import type { AuditRecord } from '../../../src/observe/audit.js';
import { FileSink, SinkHealth } from '../../../src/observe/file-sink.js';
import { until } from '../../support/wait.js';

const FAST = resolveSettings({ healthyIntervalMs: 200, stableIntervalMs: 400, pingTimeoutMs: 500, initialBackoffMs: 20, maxBackoffMs: 50 });
const SECRET_ARGUMENT = 'sk-live-do-not-log-me';
const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const ADMIN = 'admin-token-0123456789abc';

function echo(): McpServer {
  const server = new McpServer({ name: 'audit-test', version: '1.0.0' });
  server.registerTool('echo', { inputSchema: { message: z.string() } }, async ({ message }) => ({ content: [{ type: 'text', text: message }] }));
  return server;
}

const definition = (id: string): ServerDefinition => ({
  id,
  target: { type: 'memory', createServer: echo },
  priority: 0,
  dependsOn: [],
  required: true,
  disabled: false,
  settings: FAST,
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(trail: AuditTrail) {
  const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: [definition('a')] });
  cleanups.push(() => supervisor.stop());
  await waitFor(supervisor.connection('a'), (snapshot) => snapshot.matches({ serving: 'healthy' }), { timeout: 5_000 });
  const app = createApp({
    supervisor,
    audit: trail,
    tokens: [
      { name: 'otto', role: 'operator', token: OPERATOR },
      { name: 'vera', role: 'viewer', token: VIEWER },
      { name: 'ada', role: 'admin', token: ADMIN },
    ],
  });
  const request = async (path: string, token: string | undefined, init: RequestInit = {}): Promise<Response> =>
    app.request(path, { ...init, headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/json', ...(init.headers as Record<string, string>) } });
  return { app, request };
}

async function auditOf(request: (path: string, token: string | undefined) => Promise<Response>, query = ''): Promise<AuditRecord[]> {
  const response = await request(`/audit${query}`, VIEWER);
  expect(response.status).toBe(200);
  return ((await response.json()) as { records: AuditRecord[] }).records;
}

describe('audit trail', () => {
  it('records each state-changing request once, refused ones too, with who, what, outcome and request id; never the body', async () => {
    const { request } = await setup(new AuditTrail());
    const call = await request('/actors/a/tools/echo', OPERATOR, { method: 'POST', body: JSON.stringify({ message: SECRET_ARGUMENT }), headers: { 'X-Request-Id': 'req-42' } });
    expect(call.status).toBe(200);
    expect(call.headers.get('x-request-id')).toBe('req-42');
    const denied = await request('/actors/a/stop', VIEWER, { method: 'POST' });
    expect(denied.status).toBe(403);
    const anonymous = await request('/actors/a/stop', undefined, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    const missing = await request('/actors/nope/reconnect', OPERATOR, { method: 'POST' });
    expect(missing.status).toBe(404);
    // Reads are not recorded.
    await request('/actors', VIEWER);

    const records = await auditOf(request);
    expect(records.map(({ token, role, action, target, tool, outcome, status, code }) => ({ token, role, action, target, tool, outcome, status, code }))).toEqual([
      { token: 'otto', role: 'operator', action: 'tool.call', target: 'a', tool: 'echo', outcome: 'ok', status: 200, code: undefined },
      { token: 'vera', role: 'viewer', action: 'stop', target: 'a', tool: undefined, outcome: 'denied', status: 403, code: 'forbidden_role' },
      { token: null, role: null, action: 'stop', target: 'a', tool: undefined, outcome: 'unauthorized', status: 401, code: 'unauthorized' },
      { token: 'otto', role: 'operator', action: 'reconnect', target: 'nope', tool: undefined, outcome: 'error', status: 404, code: 'not_found' },
    ]);
    expect(records[0]!.requestId).toBe('req-42');
    expect(records[1]!.requestId).toMatch(/^[0-9a-f-]{36}$/);
    for (const record of records) {
      expect(Number.isNaN(Date.parse(record.time))).toBe(false);
      expect(record.durationMs).toBeGreaterThanOrEqual(0);
    }
    expect(JSON.stringify(records)).not.toContain(SECRET_ARGUMENT);
    expect(JSON.stringify(records)).not.toContain(OPERATOR);
  });

  it('GET /audit filters by since, actor and action, and refuses bad filters', async () => {
    const { request } = await setup(new AuditTrail());
    await request('/actors/a/probe', OPERATOR, { method: 'POST' });
    const between = Date.now() + 1;
    await until(() => Date.now() > between, 'the clock to pass the mark', 1_000);
    await request('/actors/a/tools/echo', OPERATOR, { method: 'POST', body: JSON.stringify({ message: 'x' }) });
    await request('/actors/b/stop', OPERATOR, { method: 'POST' });
    expect((await auditOf(request, '?action=probe')).map((record) => record.action)).toEqual(['probe']);
    expect((await auditOf(request, '?actor=b')).map((record) => record.action)).toEqual(['stop']);
    expect((await auditOf(request, `?since=${between}`)).map((record) => record.action)).toEqual(['tool.call', 'stop']);
    expect((await auditOf(request, `?since=${new Date(between).toISOString()}&limit=1`)).map((record) => record.action)).toEqual(['stop']);
    for (const bad of ['?since=yesterday', '?action=delete-everything', '?limit=0', '?actor=../etc']) {
      const response = await request(`/audit${bad}`, VIEWER);
      expect(response.status, bad).toBe(400);
    }
  });

  it('records a registration and a removal, but not a dry run (which changes nothing)', async () => {
    const { request } = await setup(new AuditTrail());
    const entry = { id: 'b', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], env: { API_KEY: SECRET_ARGUMENT } };
    expect((await request('/actors?dryRun=1', ADMIN, { method: 'POST', body: JSON.stringify(entry) })).status).toBe(200);
    expect((await request('/actors', ADMIN, { method: 'POST', body: JSON.stringify(entry) })).status).toBe(201);
    expect((await request('/actors/b', ADMIN, { method: 'DELETE' })).status).toBe(200);
    const records = await auditOf(request);
    expect(records.map(({ action, target, token, outcome }) => ({ action, target, token, outcome }))).toEqual([
      { action: 'register', target: 'b', token: 'ada', outcome: 'ok' },
      { action: 'remove', target: 'b', token: 'ada', outcome: 'ok' },
    ]);
    expect(JSON.stringify(records)).not.toContain(SECRET_ARGUMENT);
  });

  it('a flood without a token cannot rotate the real records away: 20 recorded, then 2 a second, the rest counted', async () => {
    const { request } = await setup(new AuditTrail());
    for (let i = 0; i < 60; i++) expect((await request('/actors/a/stop', undefined, { method: 'POST' })).status).toBe(401);
    expect((await request('/actors/a/probe', OPERATOR, { method: 'POST' })).status).toBe(200);
    const flood = await auditOf(request, '?limit=1000');
    const refused = flood.filter((record) => record.outcome === 'unauthorized');
    // A slow host may refill one or two during the loop.
    expect(refused.length).toBeGreaterThanOrEqual(20);
    expect(refused.length).toBeLessThan(25);
    expect(flood.at(-1)).toMatchObject({ action: 'probe', token: 'otto', outcome: 'ok' });
    // Once the budget refills, the next one is recorded with the count of those left out.
    const mark = Date.now();
    await until(() => Date.now() - mark > 600, 'the budget to refill', 2_000);
    await request('/actors/a/stop', undefined, { method: 'POST' });
    const next = (await auditOf(request, '?limit=1000')).filter((record) => record.outcome === 'unauthorized').at(-1)!;
    expect(next.suppressed).toBe(60 - refused.length);
  });

  it('a refused dry run is recorded; an accepted one is not', async () => {
    const { request } = await setup(new AuditTrail());
    const entry = JSON.stringify({ id: 'b', command: 'x' });
    expect((await request('/actors?dryRun=1', OPERATOR, { method: 'POST', body: entry })).status).toBe(403);
    expect((await request('/actors?dryRun=1', ADMIN, { method: 'POST', body: entry })).status).toBe(200);
    expect((await auditOf(request)).map(({ action, outcome, token }) => ({ action, outcome, token }))).toEqual([{ action: 'register', outcome: 'denied', token: 'otto' }]);
  });

  it('streams audit.recorded on /events', async () => {
    const { request } = await setup(new AuditTrail());
    const stream = await request('/events?types=audit.recorded', VIEWER);
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    cleanups.push(() => reader.cancel());
    await request('/actors/a/probe', OPERATOR, { method: 'POST' });
    let text = '';
    while (!text.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    expect(text).toContain('event: audit.recorded');
    const data = JSON.parse(/^data: (.*)$/m.exec(text)![1]!) as { type: string; record: AuditRecord };
    expect(data).toMatchObject({ type: 'audit.recorded', record: { action: 'probe', target: 'a', token: 'otto', outcome: 'ok' } });
  });

  it('writes JSON lines to its file, and reads them back after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const sink = () => new FileSink({ sink: 'audit', dir, naming: { file: 'audit.log' }, maxSizeBytes: 1 << 20, maxFiles: 3 });
    const first = new AuditTrail({ sink: sink() });
    const { request } = await setup(first);
    await request('/actors/a/tools/echo', OPERATOR, { method: 'POST', body: JSON.stringify({ message: SECRET_ARGUMENT }) });
    await first.close();
    const lines = readFileSync(join(dir, 'audit.log'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ action: 'tool.call', target: 'a', tool: 'echo', token: 'otto' });
    expect(lines[0]).not.toContain(SECRET_ARGUMENT);
    // A new process (a new trail, an empty ring) reads the file.
    const second = new AuditTrail({ sink: sink() });
    cleanups.push(() => second.close());
    expect((await second.query()).map((record) => record.tool)).toEqual(['echo']);
  });

  it('a directory it cannot write degrades to the in-memory ring: nothing recent is lost, the health says so', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'audit-'));
    cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
    // A file where the directory should be: every open fails (ENOTDIR/EEXIST), as a broken disk would.
    const blocked = join(parent, 'not-a-dir');
    writeFileSync(blocked, '');
    const health = new SinkHealth();
    const sink = new FileSink({ sink: 'audit', dir: join(blocked, 'audit'), naming: { file: 'audit.log' }, maxSizeBytes: 1 << 20, maxFiles: 3, health });
    const trail = new AuditTrail({ sink });
    cleanups.push(() => trail.close());
    const { request } = await setup(trail);
    await request('/actors/a/probe', OPERATOR, { method: 'POST' });
    await until(() => health.degraded('audit'), 'the audit sink to degrade', 2_000);
    expect(health.failures('audit')).toBeGreaterThan(0);
    expect((await auditOf(request)).map((record) => record.action)).toEqual(['probe']);
  });
});
