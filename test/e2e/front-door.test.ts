// The front door of the real `mcp-supervisor` command (docs/security.md): hostile requests over
// real loopback HTTP — DNS rebinding, a cross-site form, 50 MB and 100 000-deep bodies, too many
// streams and servers, the inspector's WebSocket without its key or from another origin — and
// /docs in a real headless Chromium with no network but the service.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { startInspector } from '../../src/observe/inspector.js';
import { describePids, waitForNoDescendants } from '../support/processes.js';
import { FAST_HEALTH, killAllClis, startCli, waitUntil } from '../support/cli.js';
import type { Cli } from '../support/cli.js';

// Globals of the page, used only inside functions Playwright runs in the browser (no DOM lib here).
declare const sessionStorage: { setItem(key: string, value: string): void };

interface Answer {
  status: number;
  text: string;
  error: { code: string; message: string } | undefined;
}

/** One request with exactly these headers (node:http lets a test send any Host). */
function send(url: string, options: { method?: string; headers?: Record<string, string | number>; body?: string | Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, signal: AbortSignal.timeout(20_000) }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text, error: errorOf(text) }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

function errorOf(text: string): Answer['error'] {
  try {
    return (JSON.parse(text) as { error?: Answer['error'] }).error;
  } catch {
    return undefined;
  }
}

/**
 * A body of `totalBytes` written in chunks (chunked, or with a Content-Length when `announce`),
 * as fast as the socket takes it; resolves with the answer and how much was written by then.
 */
function upload(url: string, totalBytes: number, headers: Record<string, string>, announce: boolean): Promise<Answer & { written: number }> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const request = httpRequest(
      url,
      { method: 'POST', headers: { ...headers, ...(announce ? { 'content-length': totalBytes } : {}) }, signal: AbortSignal.timeout(30_000) },
      (response) => {
        answered = true;
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, text, error: errorOf(text), written });
          request.destroy();
        });
      },
    );
    // The server may answer and close before the whole body is written: that is the point.
    request.on('error', (error) => (answered ? undefined : reject(error)));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = (): void => {
      while (!answered && written < totalBytes) {
        const size = Math.min(chunk.length, totalBytes - written);
        written += size;
        if (!request.write(size === chunk.length ? chunk : chunk.subarray(0, size))) return void request.once('drain', pump);
      }
      if (!answered) request.end();
    };
    pump();
  });
}

/** Opens a WebSocket; resolves with the status of a refused upgrade, or 101 and the first message. */
function connect(url: string, headers: Record<string, string> = {}): Promise<{ status: number; first?: string; socket?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0 });
      socket.terminate();
    });
    socket.once('message', (data) => resolve({ status: 101, first: data.toString(), socket }));
    socket.once('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-supervisor-front-door-'));
});

afterAll(async () => {
  killAllClis();
  const left = await waitForNoDescendants(10_000);
  await rm(dir, { recursive: true, force: true });
  expect(left, describePids(left)).toEqual([]);
});

describe('mcp-supervisor CLI front door', () => {
  const token = `token-${randomBytes(8).toString('hex')}`;
  const auth = { authorization: `Bearer ${token}` };
  let cli: Cli;
  let configPath: string;
  let marker: string;
  let inspectorUrl: string;

  beforeAll(async () => {
    configPath = join(dir, 'mcp.json');
    marker = join(dir, 'pwned');
    await writeFile(
      configPath,
      JSON.stringify({
        supervisor: { health: FAST_HEALTH },
        mcpServers: { a: { command: process.execPath, args: [fixtureServerPath, 'stdio'], env: { FIXTURE_LOG_CALLS: '1' } } },
      }),
    );
    cli = await startCli([
      '-c',
      configPath,
      '-p',
      '0',
      '--token',
      token,
      '--allowed-hosts',
      'proxy.example',
      '--max-event-clients',
      '2',
      '--max-servers',
      '2',
      '--inspect',
      '--inspect-port',
      '0',
      '--log-level',
      'warn',
    ]);
    inspectorUrl = await waitUntil(() => /statecharts: open (http:\/\/\S+)/.exec(cli.stderr())?.[1], 5_000, () => cli.stderr());
    await waitUntil(
      async () => {
        const answer = await send(`${cli.url}/actors/a`, { headers: auth });
        return answer.status === 200 && (JSON.parse(answer.text) as { state: string }).state === 'healthy';
      },
      20_000,
      () => 'server a never became healthy',
    );
  });

  it('403 forbidden_host for a DNS-rebound POST /actors, token or not; nothing is spawned or written', async () => {
    const before = await readFile(configPath, 'utf8');
    const entry = JSON.stringify({ id: 'pwned', command: process.execPath, args: ['-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`] });
    for (const headers of [{}, auth]) {
      const answer = await send(`${cli.url}/actors`, {
        method: 'POST',
        headers: { ...headers, host: `rebind.evil.example:${new URL(cli.url).port}`, 'content-type': 'application/json' },
        body: entry,
      });
      expect(answer.status, answer.text).toBe(403);
      expect(answer.error?.code).toBe('forbidden_host');
    }
    expect(await readFile(configPath, 'utf8')).toBe(before);
    expect(existsSync(marker)).toBe(false);
    // The allow-listed name and the loopback names are fine.
    expect((await send(`${cli.url}/actors`, { headers: { ...auth, host: 'proxy.example' } })).status).toBe(200);
    expect((await send(`${cli.url}/actors`, { headers: { ...auth, host: `localhost:${new URL(cli.url).port}` } })).status).toBe(200);
  });

  it('a cross-site form POST (text/plain, foreign Origin) to a tool is 403, a text/plain body 415; the tool never runs', async () => {
    const form = await send(`${cli.url}/actors/a/tools/echo`, {
      method: 'POST',
      headers: { ...auth, origin: 'http://evil.example', 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site' },
      body: '{"message":"from evil"}',
    });
    expect(form.status, form.text).toBe(403);
    expect(form.error?.code).toBe('forbidden_origin');
    const plain = await send(`${cli.url}/actors/a/tools/echo`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: '{"message":"plain"}' });
    expect(plain.status, plain.text).toBe(415);
    expect(plain.error?.code).toBe('unsupported_media_type');
    const logs = await send(`${cli.url}/actors/a/logs`, { headers: auth });
    expect(logs.text).not.toContain('call echo');
    // The same call done properly reaches the server.
    const ok = await send(`${cli.url}/actors/a/tools/echo`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"message":"hi"}' });
    expect(ok.status, ok.text).toBe(200);
    await waitUntil(async () => (await send(`${cli.url}/actors/a/logs`, { headers: auth })).text.includes('call echo'), 5_000, () => 'the proper call never arrived');
  });

  it('413 payload_too_large for a 50 MB POST /actors, announced or streamed, before it is all sent', async () => {
    const headers = { ...auth, 'content-type': 'application/json' };
    const announced = await upload(`${cli.url}/actors`, 50 * 1024 * 1024, headers, true);
    expect(announced.status, announced.text).toBe(413);
    expect(announced.error?.code).toBe('payload_too_large');
    const streamed = await upload(`${cli.url}/actors`, 50 * 1024 * 1024, headers, false);
    expect(streamed.status, streamed.text).toBe(413);
    expect(streamed.error?.code).toBe('payload_too_large');
    expect(streamed.written).toBeLessThan(50 * 1024 * 1024);
  });

  it('400 invalid_request (not 500) for JSON nested 100 000 deep; the service keeps serving', async () => {
    const body = `{"id":"deep","command":"x","args":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const answer = await send(`${cli.url}/actors`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
    expect(answer.status, answer.text.slice(0, 200)).toBe(400);
    expect(answer.error?.code).toBe('invalid_request');
    expect((await send(`${cli.url}/health`)).status).toBe(200);
  });

  it('404 unknown_tool for a tool the server does not have', async () => {
    const answer = await send(`${cli.url}/actors/a/tools/no_such_tool`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    expect(answer.status, answer.text).toBe(404);
    expect(answer.error?.code).toBe('unknown_tool');
  });

  it('503 too_many_clients beyond --max-event-clients open streams', async () => {
    const controllers = [new AbortController(), new AbortController()];
    try {
      for (const controller of controllers) {
        const response = await fetch(`${cli.url}/events`, { headers: auth, signal: controller.signal });
        expect(response.status).toBe(200);
      }
      const third = await send(`${cli.url}/events`, { headers: auth });
      expect(third.status, third.text).toBe(503);
      expect(third.error?.code).toBe('too_many_clients');
    } finally {
      for (const controller of controllers) controller.abort();
    }
    // Closed streams give their slots back.
    await waitUntil(
      async () => {
        const controller = new AbortController();
        const response = await fetch(`${cli.url}/events`, { headers: auth, signal: controller.signal });
        controller.abort();
        return response.status === 200;
      },
      5_000,
      () => 'no stream slot came back',
    );
  });

  it('409 limit_reached for POST /actors beyond --max-servers', async () => {
    const register = (id: string) =>
      send(`${cli.url}/actors`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ id, command: 'true', disabled: true }) });
    const second = await register('second');
    expect(second.status, second.text).toBe(201);
    const third = await register('third');
    expect(third.status, third.text).toBe(409);
    expect(third.error?.code).toBe('limit_reached');
    expect((await send(`${cli.url}/actors/second`, { method: 'DELETE', headers: auth })).status).toBe(200);
  });

  it('the inspector WebSocket needs the printed key or the token, and an allowed Origin; the printed page works', async () => {
    const printed = new URL(inspectorUrl);
    const key = printed.searchParams.get('token');
    expect(key).toBeTruthy();
    expect(inspectorUrl).not.toContain(token);
    const ws = `ws://${printed.host}/`;
    const page = `http://${printed.host}`;
    expect((await connect(ws)).status).toBe(401);
    expect((await connect(`${ws}?token=wrong`)).status).toBe(401);
    expect((await connect(ws, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await connect(`${ws}?token=${key}`, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await connect(`${ws}?token=${key}`, { origin: `http://localhost:${Number(printed.port) + 1}` })).status).toBe(403);
    expect((await connect(`${ws}?token=${key}`, { host: `rebind.evil.example:${printed.port}` })).status).toBe(403);
    // As the printed page connects: its own origin and the key.
    const viaKey = await connect(`${ws}?token=${key}`, { origin: page });
    expect(viaKey.status).toBe(101);
    expect(viaKey.first).toContain('@xstate.');
    viaKey.socket?.terminate();
    // The API token itself, as a bearer header (no browser can send one; a script can).
    const viaToken = await connect(ws, { authorization: `Bearer ${token}` });
    expect(viaToken.status).toBe(101);
    viaToken.socket?.terminate();
    // The page itself holds nothing and loads; a rebound name does not get it.
    const html = await send(inspectorUrl);
    expect(html.status).toBe(200);
    expect(html.text).toContain('stately.ai/inspect');
    expect((await send(inspectorUrl, { headers: { host: `rebind.evil.example:${printed.port}` } })).status).toBe(403);
  });

  it('/docs renders in a headless Chromium with no network but the service, and unlocks with the token', async () => {
    const page = await send(`${cli.url}/docs`);
    expect(page.status).toBe(200);
    expect((await send(`${cli.url}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
    expect((await send(`${cli.url}/openapi.json`)).status).toBe(401);

    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const context = await browser.newContext();
      const offsite: string[] = [];
      await context.route('**/*', (route) => {
        if (route.request().url().startsWith(cli.url)) return route.continue();
        offsite.push(route.request().url());
        return route.abort();
      });
      const tab = await context.newPage();
      const problems: string[] = [];
      tab.on('pageerror', (error) => problems.push(error.message));
      tab.on('console', (message) => {
        if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
      });
      // The token the dashboard would have stored in this tab.
      await tab.goto(`${cli.url}/docs/assets/docs.css`);
      await tab.evaluate((value) => sessionStorage.setItem('mcp-supervisor.token', value), token);
      await tab.goto(`${cli.url}/docs`);
      await tab.waitForSelector('#operations-actors-get_actors', { timeout: 15_000 });
      expect(problems).toEqual([]);
      expect(offsite).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe('startInspector without a token', () => {
  it('needs no key, but still refuses a foreign Origin and Host', async () => {
    const bridge = await startInspector({ port: 0 });
    try {
      const url = new URL(bridge.url);
      expect(url.search).toBe('');
      const ws = `ws://${url.host}/`;
      expect((await connect(ws, { origin: 'http://evil.example' })).status).toBe(403);
      expect((await connect(ws, { host: `evil.example:${url.port}` })).status).toBe(403);
      // No message yet without an inspected actor; an open upgrade is enough here.
      const socket = new WebSocket(ws, { headers: { origin: `http://localhost:${url.port}` } });
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      socket.terminate();
    } finally {
      await bridge.close();
    }
  });
});
