// Server log files through the real `mcp-supervisor` command (issue 15 §3 and §8): where they go
// by default, an unwritable log directory refused at start and by --check (with every other
// problem), and a disk that refuses writes while running (a real EFBIG: the service runs under
// `prlimit --fsize`), which degrades to the in-memory ring: no crash, a metric, one log line.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllClis, spawnCli, spawnWatched, startCli, waitUntil } from '../support/cli.js';
import type { Cli } from '../support/cli.js';
import { describePids, waitForNoDescendants } from '../support/processes.js';

const chatty = fileURLToPath(new URL('../fixtures/chatty-server.mjs', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/mcp-supervisor.mjs', import.meta.url));
const chattyServer = { command: process.execPath, args: [chatty, 'stdio'] };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-log-files-'));
});
afterAll(async () => {
  killAllClis();
  const left = await waitForNoDescendants(10_000);
  await rm(dir, { recursive: true, force: true });
  expect(left, describePids(left)).toEqual([]);
});

async function config(name: string, body: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(body));
  return path;
}

async function say(url: string, text: string): Promise<void> {
  const response = await fetch(`${url}/actors/chatty/tools/say?waitForReady=15000`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
    signal: AbortSignal.timeout(20_000),
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

async function logs(url: string, query = ''): Promise<{ lines: { text: string }[]; fileLogs: string }> {
  const response = await fetch(`${url}/actors/chatty/logs${query}`, { signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
  return (await response.json()) as { lines: { text: string }[]; fileLogs: string };
}

const metric = async (url: string, series: string): Promise<number | undefined> => {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

async function stop(cli: Cli): Promise<void> {
  cli.child.kill('SIGTERM');
  expect((await cli.exited).code).toBe(0);
}

describe('server log files, through the CLI', () => {
  it('are on by default, in logs/<id>/<UTC date>.log next to the config file; the metrics show the sinks healthy', async () => {
    const path = await config('default.json', { mcpServers: { chatty: chattyServer } });
    const cli = await startCli(['--config', path, '--port', '0']);
    await say(cli.url, 'to the file');
    const file = join(dir, 'logs', 'chatty', `${new Date().toISOString().slice(0, 10)}.log`);
    await waitUntil(async () => (await readFile(file, 'utf8').catch(() => '')).includes('"text":"to the file"'), 10_000, () => `nothing in ${file}`);
    expect((await logs(cli.url, '?grep=TO+THE')).lines.map((line) => line.text)).toEqual(['to the file']);
    expect(await metric(cli.url, 'mcp_log_sink_degraded{sink="server_logs"}')).toBe(0);
    expect(await metric(cli.url, 'mcp_log_write_failures_total{sink="server_logs"}')).toBe(0);
    await stop(cli);
  });

  it('an unwritable log directory: a clear error at start, nothing spawned; --check lists it with the other problems', async () => {
    // A regular file where a directory should be: unwritable for anyone, root included.
    await writeFile(join(dir, 'not-a-dir'), '');
    const marker = join(dir, 'spawned');
    const spy = { command: process.execPath, args: ['-e', `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x')`] };
    const path = await config('unwritable.json', { supervisor: { logs: { dir: 'not-a-dir/logs' } }, mcpServers: { spy } });

    const start = spawnCli(['--config', path, '--port', '0']);
    expect((await start.exited).code).toBe(1);
    expect(start.stderr()).toContain(`mcp-supervisor: invalid config ${path}:\n  - supervisor.logs.dir: cannot write to ${join(dir, 'not-a-dir', 'logs')} (ENOTDIR, a part of the path is not a directory)\n`);
    expect(start.stderr()).not.toContain('listening');
    expect(existsSync(marker)).toBe(false);

    const check = spawnCli(['--check', '--config', path]);
    expect((await check.exited).code).toBe(1);
    expect(check.stdout()).toBe('');
    expect(check.stderr()).toContain('  - supervisor.logs.dir: cannot write to');

    // With other problems: all of them in one run.
    const both = await config('unwritable-and-invalid.json', { supervisor: { logs: { dir: 'not-a-dir/logs' }, maxConcurentReconnects: 2 }, mcpServers: { bad: { comand: 'x' } } });
    const all = spawnCli(['--check', '--config', both]);
    expect((await all.exited).code).toBe(1);
    expect(all.stderr()).toContain("  - mcpServers.bad.comand: unknown key 'comand'");
    expect(all.stderr()).toContain("  - supervisor.maxConcurentReconnects: unknown key 'maxConcurentReconnects'");
    expect(all.stderr()).toContain('  - supervisor.logs.dir: cannot write to');

    // Turned off, the directory does not matter; --check creates nothing.
    const off = await config('off.json', { supervisor: { logs: { enabled: false, dir: 'not-a-dir/logs' } }, mcpServers: {} });
    const fine = spawnCli(['--check', '--config', off]);
    expect((await fine.exited).code, fine.stderr()).toBe(0);
    const fresh = await config('fresh.json', { supervisor: { logs: { dir: 'created-later' } }, mcpServers: {} });
    expect((await spawnCli(['--check', '--config', fresh]).exited).code).toBe(0);
    expect(existsSync(join(dir, 'created-later'))).toBe(false);
  });

  it('a disk that refuses writes (EFBIG under prlimit --fsize) degrades to the ring: no crash, the metric moves, one log line', async () => {
    const sub = await mkdtemp(join(dir, 'full-'));
    const path = join(sub, 'mcp.json');
    await writeFile(path, JSON.stringify({ mcpServers: { chatty: chattyServer } }));
    // Files of this process (and its children) may not grow past 16 KiB: the log file will.
    const run = spawnWatched('prlimit', ['--fsize=16384', process.execPath, bin, '--config', path, '--port', '0']);
    const { child } = run;
    const exited = run.exited.then(({ code }) => code);
    try {
      const url = await waitUntil(() => /listening on (http:\/\/\S+)/.exec(run.stderr())?.[1], 20_000, () => `no listening line:\n${run.stderr()}`, exited);
      // About 40 KiB of output, in several calls: the file stops at 16 KiB and the sink degrades.
      for (let batch = 0; batch < 8; batch++) {
        await say(url, Array.from({ length: 40 }, (_, n) => `batch ${batch} line ${n} ${'z'.repeat(100)}`).join('\n'));
      }
      await waitUntil(async () => (await metric(url, 'mcp_log_sink_degraded{sink="server_logs"}')) === 1, 10_000, () => `not degraded; stdout:\n${run.stdout()}`);
      expect(await metric(url, 'mcp_log_write_failures_total{sink="server_logs"}')).toBeGreaterThanOrEqual(1);

      // Still serving, from the ring: lines written after the failure are there.
      await say(url, 'after the disk filled up');
      const answer = await logs(url, '?lines=5');
      expect(answer.fileLogs).toBe('degraded');
      expect(answer.lines.at(-1)?.text).toBe('after the disk filled up');
      expect((await logs(url, '?grep=after+the+disk')).lines).toHaveLength(1);

      // One warn line, naming the directory and the code; no more for the writes that followed.
      const warnings = run.stdout().split('\n').filter((line) => line.includes('log files: cannot write'));
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, sink: 'server_logs', code: 'EFBIG', server: 'chatty' });
      const files = await readdir(join(sub, 'logs', 'chatty'));
      expect(files.some((name) => name.endsWith('.log'))).toBe(true);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
