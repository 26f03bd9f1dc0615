// FileSink (src/observe/file-sink.ts) on a real file system: rotation and the count limit (the
// library's), the age limit, the audit trail's single-file naming, and the degraded mode when the
// directory cannot be written: one log line, counted, retried, recovered.
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { FileSink, SinkHealth, sinkFiles } from '../../../src/observe/file-sink.js';
import { createLogger } from '../../../src/observe/logger.js';
import { createMetrics } from '../../../src/observe/metrics.js';
import { createSupervisor } from '../../../src/fleet/supervisor.js';
import { until, waitUntil } from '../../support/wait.js';

const dirs: string[] = [];
const sinks: FileSink[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((sink) => sink.close()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-file-sink-'));
  dirs.push(dir);
  return dir;
}

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger('info', destination), lines };
}

const sink = (options: ConstructorParameters<typeof FileSink>[0]): FileSink => {
  const created = new FileSink(options);
  sinks.push(created);
  return created;
};

async function allLines(paths: string[]): Promise<string[]> {
  const lines: string[] = [];
  for (const path of paths) lines.push(...(await readFile(path, 'utf8')).split('\n').filter((line) => line !== ''));
  return lines;
}

describe('FileSink', () => {
  it('daily naming: <date>.log, rotated by size to <date>.N.log, at most maxFiles rotated files, listed oldest first', async () => {
    const dir = await tempDir();
    const daily = sink({ sink: 'server_logs', dir, naming: 'daily', maxSizeBytes: 200, maxFiles: 2 });
    for (let n = 0; n < 30; n++) {
      daily.write(`line ${String(n).padStart(2, '0')} ${'x'.repeat(30)}`);
      // One write at a time reaches the disk, so each rotation sees its own file full.
      await waitUntil(async () => (await allLines((await sinkFiles(dir, 'daily')).map((file) => file.path))).some((line) => line.startsWith(`line ${String(n).padStart(2, '0')}`)), 2_000, () => `line ${n}`);
    }
    await daily.close();
    const files = await sinkFiles(dir, 'daily');
    const today = new Date().toISOString().slice(0, 10);
    expect(files.length).toBe(3); // the live file and 2 rotated
    for (const file of files) expect(file.path).toMatch(new RegExp(`/${today}(\\.\\d+)?\\.log$`));
    const lines = await allLines(files.map((file) => file.path));
    expect(lines.at(-1)).toMatch(/^line 29 /);
    const numbers = lines.map((line) => Number(line.slice(5, 7)));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
  });

  it('{ file } naming (the audit trail): audit.log rotated logrotate style to audit.log.1 … audit.log.<maxFiles>', async () => {
    const dir = await tempDir();
    const audit = sink({ sink: 'audit', dir, naming: { file: 'audit.log' }, maxSizeBytes: 100, maxFiles: 2 });
    for (let n = 0; n < 20; n++) audit.write(JSON.stringify({ n, pad: 'y'.repeat(20) }));
    await audit.close();
    expect((await readdir(dir)).sort()).toEqual(['audit.log', 'audit.log.1', 'audit.log.2']);
    const files = await sinkFiles(dir, { file: 'audit.log' });
    expect(files.map((file) => file.path.slice(dir.length + 1))).toEqual(['audit.log.2', 'audit.log.1', 'audit.log']);
    const records = (await allLines(files.map((file) => file.path))).map((line) => (JSON.parse(line) as { n: number }).n);
    expect(records.at(-1)).toBe(19);
    expect(records).toEqual([...records].sort((a, b) => a - b));
  });

  it('deletes daily files not written for maxAgeDays, and only those', async () => {
    const dir = await tempDir();
    const old = join(dir, '2020-01-01.log');
    const recent = join(dir, '2020-01-02.log');
    const foreign = join(dir, 'notes.txt');
    await writeFile(old, 'old\n');
    await writeFile(recent, 'recent\n');
    await writeFile(foreign, 'mine\n');
    const month = (Date.now() - 30 * 86_400_000) / 1000;
    await utimes(old, month, month);
    await utimes(foreign, month, month);
    sink({ sink: 'server_logs', dir, naming: 'daily', maxSizeBytes: 1_000, maxFiles: 5, maxAgeDays: 14 }).write('now');
    await waitUntil(async () => !(await readdir(dir)).includes('2020-01-01.log'), 2_000, () => 'the old file is still there');
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['2020-01-02.log', 'notes.txt']));
  });

  it('an unwritable directory degrades it: writes dropped, never thrown, one warn line, counted; it recovers once writable', async () => {
    const base = await tempDir();
    // A regular file where a directory should be: ENOTDIR for anyone, root included.
    const blocker = join(base, 'blocker');
    await writeFile(blocker, '');
    const dir = join(blocker, 'logs');
    const health = new SinkHealth();
    const { logger, lines } = capturedLogger();
    const degraded = sink({ sink: 'server_logs', dir, naming: 'daily', maxSizeBytes: 1_000, maxFiles: 5, logger, health, retryAfterMs: 30 });
    degraded.write('lost');
    await until(() => health.failures('server_logs') >= 3, 'three failed attempts (the first and two retries)', 5_000);
    expect(degraded.degraded).toBe(true);
    expect(health.degraded('server_logs')).toBe(true);
    expect(health.degraded('audit')).toBe(false);
    expect(() => degraded.write('also lost')).not.toThrow();
    const warnings = lines.filter((line) => line.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ sink: 'server_logs', code: 'ENOTDIR' });
    expect(String(warnings[0]?.msg)).toContain(`cannot write to ${dir}`);

    // The disk is fixed: the next retry opens the file, and lines go to it again.
    await rm(blocker);
    await mkdir(dir, { recursive: true });
    await until(() => !degraded.degraded, 'recovered', 5_000);
    expect(health.degraded('server_logs')).toBe(false);
    expect(lines.filter((line) => line.level === 30 && String(line.msg).includes('writing to'))).toHaveLength(1);
    degraded.write('kept');
    await degraded.close();
    const files = await sinkFiles(dir, 'daily');
    expect(await allLines(files.map((file) => file.path))).toEqual(['kept']);
    // "also lost" was refused; "lost" was queued before the failure was known, and went with the stream.
    expect(degraded.droppedLines).toBeGreaterThanOrEqual(1);
  });

  it('the metrics show failures and degraded sinks by sink name, both names always present', async () => {
    const supervisor = createSupervisor({ mcpServers: {} }, { processSampleIntervalMs: 0 });
    const health = new SinkHealth();
    const metrics = createMetrics(supervisor, { sinks: health, defaultMetrics: false });
    try {
      const value = async (series: string) => {
        const line = (await metrics.render()).split('\n').find((entry) => entry.startsWith(`${series} `));
        return line === undefined ? undefined : Number(line.slice(series.length + 1));
      };
      expect(await value('mcp_log_write_failures_total{sink="server_logs"}')).toBe(0);
      expect(await value('mcp_log_sink_degraded{sink="audit"}')).toBe(0);
      const one = {};
      const two = {};
      health.failed('audit');
      health.failed('audit');
      health.setDegraded('audit', one, true);
      health.setDegraded('audit', two, true);
      expect(await value('mcp_log_write_failures_total{sink="audit"}')).toBe(2);
      expect(await value('mcp_log_sink_degraded{sink="audit"}')).toBe(1);
      expect(await value('mcp_log_sink_degraded{sink="server_logs"}')).toBe(0);
      health.setDegraded('audit', one, false);
      expect(await value('mcp_log_sink_degraded{sink="audit"}')).toBe(1); // the other one still is
      health.setDegraded('audit', two, false);
      expect(await value('mcp_log_sink_degraded{sink="audit"}')).toBe(0);
    } finally {
      metrics.close();
      await supervisor.stop();
    }
  });
});
