// Server output in files (issue 15 §3): a real stdio server (test/fixtures/chatty-server.mjs,
// tool `say` writes to stderr) supervised with ServerLogFiles as its log sink: the lines land in
// <dir>/<id>/<YYYY-MM-DD>.log, rotate by size, keep maxFiles, and GET /actors/:id/logs filters
// over the files and the ring together.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ServerDefinition } from '../../src/config/load.js';
import { resolveSettings } from '../../src/core/settings.js';
import { Supervisor } from '../../src/fleet/supervisor.js';
import { createApp } from '../../src/http/app.js';
import type { App } from '../../src/http/app.js';
import { SinkHealth } from '../../src/observe/file-sink.js';
import { parseLogLine } from '../../src/observe/log-query.js';
import { ServerLogFiles } from '../../src/observe/server-logs.js';
import type { ServerLogFilesOptions } from '../../src/observe/server-logs.js';
import type { LogLine } from '../../src/runtime/log-ring.js';
import { describePids, waitForNoDescendants } from '../support/processes.js';
import { until, waitUntil } from '../support/wait.js';

const chatty = fileURLToPath(new URL('../fixtures/chatty-server.mjs', import.meta.url));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  const leftovers = await waitForNoDescendants(5_000);
  expect(leftovers, describePids(leftovers)).toEqual([]);
});

interface Fleet {
  supervisor: Supervisor;
  files: ServerLogFiles;
  app: App;
  dir: string;
  say(text: string): Promise<void>;
  logs(query: string): Promise<{ lines: LogLine[]; fileLogs: string }>;
}

async function fleet(options: Partial<ServerLogFilesOptions> = {}, env: Record<string, string> = {}): Promise<Fleet> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-server-logs-'));
  const files = new ServerLogFiles({ dir, health: new SinkHealth(), ...options });
  const definition: ServerDefinition = {
    id: 'chatty',
    target: { type: 'stdio', command: process.execPath, args: [chatty, 'stdio'], env },
    priority: 0,
    dependsOn: [],
    required: true,
    disabled: false,
    settings: resolveSettings({ initialBackoffMs: 20, maxBackoffMs: 100 }),
  };
  const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: [definition] }, { logSink: files, processSampleIntervalMs: 0 });
  cleanups.push(async () => {
    await supervisor.stop();
    await files.closeAll();
    await rm(dir, { recursive: true, force: true });
  });
  const app = createApp({ supervisor, serverLogs: files, eventStream: { keepAliveMs: 0 } });
  await supervisor.ready('chatty', 15_000);
  await until(() => supervisor.logs('chatty').some((line) => line.text.endsWith(' ready')), 'the ready line');
  const say = async (text: string): Promise<void> => {
    await supervisor.callTool('chatty', 'say', { text });
    const last = text.split('\n').at(-1) ?? '';
    await until(() => supervisor.logs('chatty').some((line) => line.text === last), `the line "${last}"`);
  };
  const logs = async (query: string) => {
    const response = await app.request(`/actors/chatty/logs${query}`);
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as { lines: LogLine[]; fileLogs: string };
  };
  return { supervisor, files, app, dir, say, logs };
}

/** Every line of every file of the server, oldest file first (by the sink's own order). */
async function linesInFiles(dir: string): Promise<string[]> {
  const { sinkFiles } = await import('../../src/observe/file-sink.js');
  const texts: string[] = [];
  for (const file of await sinkFiles(join(dir, 'chatty'), 'daily')) {
    for (const raw of (await readFile(file.path, 'utf8')).split('\n')) {
      const line = parseLogLine(raw);
      if (line) texts.push(line.text);
    }
  }
  return texts;
}

describe('server log files', () => {
  it("a server's stderr lands in <dir>/<id>/<UTC date>.log as JSON lines, redacted as the ring is", async () => {
    const { dir, say, files } = await fleet({}, { CHATTY_SECRET: 'hunter2-secret-value' });
    await say('first line\nsecond line with hunter2-secret-value inside\nthird line');
    const today = new Date().toISOString().slice(0, 10);
    const file = join(dir, 'chatty', `${today}.log`);
    const content = await waitUntil(
      async () => {
        const text = await readFile(file, 'utf8').catch(() => '');
        return text.includes('third line') ? text : undefined;
      },
      5_000,
      () => `no line in ${file}`,
    );
    const lines = content.trim().split('\n').map((raw) => JSON.parse(raw) as { at: string; stream: string; text: string });
    expect(lines.map((line) => line.text)).toEqual(expect.arrayContaining([expect.stringMatching(/^chatty \d+ ready$/), 'first line']));
    for (const line of lines) {
      expect(line.stream).toBe('stderr');
      expect(line.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    expect(content).not.toContain('hunter2-secret-value');
    expect(content).toContain('second line with');
    expect(files.state('chatty')).toBe('on');
  });

  it('rotates by size and keeps at most maxFiles rotated files', async () => {
    const { dir, say } = await fleet({ maxSizeBytes: 600, maxFiles: 3 });
    // Each `say` is one line of ~110 bytes in the file: 40 of them are several rotations.
    for (let n = 0; n < 40; n++) await say(`line ${String(n).padStart(3, '0')} ${'x'.repeat(40)}`);
    const names = await waitUntil(
      async () => {
        const listed = (await readdir(join(dir, 'chatty'))).filter((name) => name.endsWith('.log'));
        return (await linesInFiles(dir)).includes(`line 039 ${'x'.repeat(40)}`) ? listed : undefined;
      },
      5_000,
      () => 'the last line never reached the files',
    );
    // The live file and at most 3 rotated ones: <date>.log, <date>.1.log, …
    expect(names.length).toBeGreaterThanOrEqual(2);
    expect(names.length).toBeLessThanOrEqual(4);
    for (const name of names) expect(name).toMatch(/^\d{4}-\d{2}-\d{2}(\.\d+)?\.log$/);
    const texts = await linesInFiles(dir);
    // What is kept is the newest lines, in order, none twice; the oldest went with deleted files.
    const numbers = texts.flatMap((text) => /^line (\d+) /.exec(text)?.[1] ?? []).map(Number);
    expect(numbers.at(-1)).toBe(39);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(numbers[0]).toBeGreaterThan(0);
  });

  it('GET /actors/:id/logs filters by grep, stream, since and until, over the files beyond the ring', async () => {
    const { supervisor, say, logs, dir } = await fleet();
    await say('alpha one\nBeta two\nalpha three');
    const marks = supervisor.logs('chatty', 500);
    const beta = marks.find((line) => line.text === 'Beta two')!;
    // Push the first lines out of the 500-line ring: from now on only the files have them.
    await say(Array.from({ length: 520 }, (_, n) => `filler ${n}`).join('\n'));
    await until(() => !supervisor.logs('chatty', 500).some((line) => line.text === 'alpha one'), 'alpha one left the ring');
    // The files are written in the background: wait until the last line is on disk.
    await waitUntil(async () => (await linesInFiles(dir)).some((line) => line.includes('filler 519')), 5_000, () => 'filler 519 in the files');

    const grep = await logs('?grep=ALPHA');
    expect(grep.lines.map((line) => line.text)).toEqual(['alpha one', 'alpha three']);
    expect(grep.fileLogs).toBe('on');

    expect((await logs('?grep=beta&stream=stderr')).lines.map((line) => line.text)).toEqual(['Beta two']);
    expect((await logs('?grep=beta&stream=stdout')).lines).toEqual([]);

    const at = await logs(`?since=${beta.at}&until=${new Date(beta.at).toISOString()}&grep=two`);
    expect(at.lines).toEqual([{ at: beta.at, stream: 'stderr', text: 'Beta two' }]);

    // lines keeps the newest that match: the files' lines and the ring's, in order.
    const last = await logs('?grep=filler&lines=30');
    expect(last.lines.map((line) => line.text)).toEqual(Array.from({ length: 30 }, (_, n) => `filler ${490 + n}`));
    const span = await logs('?grep=filler+&lines=10000');
    expect(span.lines.map((line) => line.text)).toEqual(Array.from({ length: 520 }, (_, n) => `filler ${n}`));
  });

  it('follow=1 serves the filtered history, then only new lines that match', async () => {
    const { say, app } = await fleet();
    await say('keep 1\ndrop 1');
    const controller = new AbortController();
    cleanups.push(async () => controller.abort());
    const response = await app.request('/actors/chatty/logs?follow=1&grep=keep', { signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const read = async (until: (text: string) => boolean): Promise<void> => {
      while (!until(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended: ${text}`);
        text += decoder.decode(value);
      }
    };
    await read((seen) => seen.includes('keep 1'));
    await say('drop 2\nkeep 2');
    await read((seen) => seen.includes('keep 2'));
    expect(text).not.toContain('drop');
    controller.abort();
  });

  it('bad parameters are 400 with the reason; an unknown server 404', async () => {
    const { app } = await fleet();
    const cases: [string, RegExp][] = [
      ['?since=yesterday', /since: must be an ISO 8601 time/],
      ['?until=2026-13-45', /until: must be an ISO 8601 time/],
      ['?since=2026-12-02&until=2026-12-01', /since must not be after until/],
      ['?stream=stdin', /stream/],
      ['?grep=', /grep: must not be empty/],
      ['?follow=1&until=2026-12-01', /until cannot be combined with follow/],
      ['?lines=0', /lines/],
    ];
    for (const [query, message] of cases) {
      const response = await app.request(`/actors/chatty/logs${query}`);
      expect(response.status, query).toBe(400);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.message, query).toMatch(message);
    }
    expect((await app.request('/actors/nope/logs?grep=x')).status).toBe(404);
    expect((await app.request('/actors/..%2F..%2Fetc/logs')).status).toBe(400);
  });
});
