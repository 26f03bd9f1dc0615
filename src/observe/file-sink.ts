import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createStream } from 'rotating-file-stream';
import type { RotatingFileStream } from 'rotating-file-stream';
import type { Logger } from './logger.js';

/** Which file sink, as the metrics label it: server output, or the audit trail. */
export type SinkName = 'server_logs' | 'audit';

/** Every sink name, for metrics that show each one even before it fails. */
export const SINK_NAMES: readonly SinkName[] = ['server_logs', 'audit'];

/**
 * How the files of a sink are named and rotated:
 * - `daily`: `<dir>/<YYYY-MM-DD>.log` (UTC date), then `<YYYY-MM-DD>.1.log`, `.2.log`… when a
 *   day's file reaches the size limit; a new file every UTC midnight; files are never renamed.
 * - `{ file }`: one file `<dir>/<file>`, rotated logrotate style to `<file>.1` (newest) … `<file>.<maxFiles>`.
 */
export type SinkNaming = 'daily' | { file: string };

/** Options of `FileSink`. */
export interface FileSinkOptions {
  /** For the metrics label and the log line when it degrades. */
  sink: SinkName;
  /** The directory of the files (created if missing). */
  dir: string;
  /** See {@link SinkNaming}. */
  naming: SinkNaming;
  /** A file is rotated once it reaches this size (bytes). */
  maxSizeBytes: number;
  /** Rotated files kept (the file being written is not counted); older ones are deleted. */
  maxFiles: number;
  /** With `daily` naming: files not written for this many days are deleted. */
  maxAgeDays?: number;
  /** Told once when the sink degrades (warn) and once when it recovers (info). */
  logger?: Logger;
  /** Counts failures and degraded sinks for the metrics. */
  health?: SinkHealth;
  /** How long a degraded sink waits before it opens its file again; default 60 s. */
  retryAfterMs?: number;
  /** Bytes waiting for the disk beyond which new lines are dropped (a disk that stalls); default 8 MiB. */
  maxBufferedBytes?: number;
}

/**
 * Failures and degraded sinks by sink name, read by the metrics (`mcp_log_write_failures_total`,
 * `mcp_log_sink_degraded`). One per service, shared by every `FileSink`.
 */
export class SinkHealth {
  private readonly failureCounts = new Map<SinkName, number>();
  private readonly degradedSinks = new Map<SinkName, Set<object>>();

  /** Counts one failed write, open or rotation. */
  failed(sink: SinkName): void {
    this.failureCounts.set(sink, this.failures(sink) + 1);
  }

  /** Marks one sink (of possibly many with the same name, e.g. one per server) degraded or not. */
  setDegraded(sink: SinkName, who: object, degraded: boolean): void {
    let set = this.degradedSinks.get(sink);
    if (!set) {
      set = new Set();
      this.degradedSinks.set(sink, set);
    }
    if (degraded) set.add(who);
    else set.delete(who);
  }

  /** Failures counted for this sink name since start. */
  failures(sink: SinkName): number {
    return this.failureCounts.get(sink) ?? 0;
  }

  /** Whether any sink of this name is degraded now. */
  degraded(sink: SinkName): boolean {
    return (this.degradedSinks.get(sink)?.size ?? 0) > 0;
  }
}

const DEFAULT_RETRY_AFTER_MS = 60_000;
const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const DAY_MS = 86_400_000;
/** `2026-12-01.log`, `2026-12-01.3.log`. */
const DAILY_FILE = /^(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.log$/;
/** The list of rotated files rotating-file-stream keeps to enforce `maxFiles`. */
const HISTORY_FILE = '.rotated.txt';

/**
 * An append-only line sink over rotating files (rotation and the count limit are
 * rotating-file-stream's; this adds the age limit, the health and the degraded mode).
 *
 * `write` never throws and never waits: lines are queued on the stream and written in the
 * background. When the disk refuses (ENOSPC, EACCES, EROFS, EFBIG…) the sink degrades: it stops
 * writing, logs one line, counts the failure, and opens its file again after `retryAfterMs`; lines
 * written meanwhile are dropped here (callers keep their own in-memory copy, e.g. the log ring).
 *
 * @example
 * ```ts
 * const sink = new FileSink({ sink: 'audit', dir: '/var/lib/mcp/audit', naming: { file: 'audit.log' }, maxSizeBytes: 10 << 20, maxFiles: 20, logger, health });
 * sink.write(JSON.stringify(record));
 * await sink.close();
 * ```
 */
export class FileSink {
  private stream: RotatingFileStream | undefined;
  private isDegraded = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private dropped = 0;
  private pruning: Promise<void> | undefined;

  constructor(
    /** What it writes where, and its limits. */
    readonly options: FileSinkOptions,
  ) {
    this.open();
  }

  /**
   * Appends one line (without its line break), or `lines` lines joined by line breaks in one
   * write. Never throws; dropped while degraded or closed, and counted line by line.
   */
  write(line: string, lines = 1): void {
    const stream = this.stream;
    if (this.closed || this.isDegraded || !stream || stream.destroyed) {
      this.dropped += lines;
      return;
    }
    if (stream.writableLength > (this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES)) {
      this.dropped += lines;
      return;
    }
    try {
      stream.write(`${line}\n`);
    } catch (error) {
      this.degrade(error);
    }
  }

  /** Whether the sink is not writing its file now (after a failure, until it opens again). */
  get degraded(): boolean {
    return this.isDegraded;
  }

  /** Lines not written because the sink was degraded, closed or too far behind. */
  get droppedLines(): number {
    return this.dropped;
  }

  /** The sink's files, oldest first; the one being written is last. */
  async files(): Promise<SinkFile[]> {
    return sinkFiles(this.options.dir, this.options.naming);
  }

  /** Writes what is queued and closes the file; later writes are dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.options.health?.setDegraded(this.options.sink, this, false);
    const stream = this.stream;
    this.stream = undefined;
    await this.pruning;
    if (!stream || stream.destroyed) return;
    await new Promise<void>((resolve) => {
      stream.once('error', () => resolve());
      stream.end(() => resolve());
    });
  }

  private open(): void {
    const { dir, naming, maxSizeBytes, maxFiles } = this.options;
    let stream: RotatingFileStream;
    try {
      stream =
        naming === 'daily'
          ? createStream(dailyName, {
              path: dir,
              immutable: true,
              interval: '1d',
              intervalBoundary: true,
              intervalUTC: true,
              size: `${maxSizeBytes}B`,
              maxFiles,
              history: HISTORY_FILE,
            })
          : createStream(naming.file, { path: dir, size: `${maxSizeBytes}B`, rotate: maxFiles });
    } catch (error) {
      this.degrade(error);
      return;
    }
    this.stream = stream;
    stream.on('error', (error) => {
      if (this.stream === stream) this.degrade(error);
    });
    stream.on('open', () => {
      if (this.stream === stream) this.recovered();
    });
    stream.on('rotated', () => this.prune());
    this.prune();
  }

  private degrade(error: unknown): void {
    const { sink, dir, logger, health } = this.options;
    health?.failed(sink);
    const stream = this.stream;
    this.stream = undefined;
    stream?.destroy();
    if (this.closed) return;
    if (!this.isDegraded) {
      this.isDegraded = true;
      health?.setDegraded(sink, this, true);
      const code = (error as NodeJS.ErrnoException | undefined)?.code;
      logger?.warn(
        { sink, dir, code, err: error },
        `log files: cannot write to ${dir} (${code ?? 'error'}); lines are kept in memory only, retrying every ${Math.round(this.retryAfterMs / 1000)} s`,
      );
    }
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed) this.open();
    }, this.retryAfterMs);
    this.retryTimer.unref();
  }

  private recovered(): void {
    if (!this.isDegraded) return;
    this.isDegraded = false;
    const { sink, dir, logger, health } = this.options;
    health?.setDegraded(sink, this, false);
    logger?.info({ sink, dir, dropped: this.dropped }, `log files: writing to ${dir} again`);
  }

  private get retryAfterMs(): number {
    return this.options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
  }

  /** Deletes daily files not written for `maxAgeDays` (the count limit is the library's). */
  private prune(): void {
    const { naming, maxAgeDays, dir } = this.options;
    if (naming !== 'daily' || maxAgeDays === undefined || this.pruning) return;
    const cutoff = Date.now() - maxAgeDays * DAY_MS;
    this.pruning = pruneOlderThan(dir, cutoff)
      .catch(() => undefined) // best effort: the next rotation tries again
      .finally(() => (this.pruning = undefined));
  }
}

/** The daily file name generator: the UTC date, then the index of the size rotation within the day. */
function dailyName(time: number | Date | null, index?: number): string {
  // Only called without a time for the history file's name, which is given explicitly.
  if (time === null) return 'current.log';
  const date = new Date(time).toISOString().slice(0, 10);
  return index === undefined || index <= 1 ? `${date}.log` : `${date}.${index - 1}.log`;
}

async function pruneOlderThan(dir: string, cutoff: number): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!DAILY_FILE.test(name)) continue;
    const path = join(dir, name);
    const { mtimeMs } = await stat(path);
    if (mtimeMs < cutoff) await unlink(path);
  }
}

/** One file of a sink, as `sinkFiles` lists it. */
export interface SinkFile {
  /** Its full path. */
  path: string;
  /** When it was last written (epoch ms): no line in it is newer. */
  modifiedMs: number;
  /** Its size in bytes. */
  bytes: number;
}

/**
 * The files of a sink in `dir`, oldest first; none when the directory does not exist. Daily files
 * sort by when they were last written (the library reuses a freed index, so names do not tell the
 * order within a day); a `{ file }` sink's by rotation index, highest (oldest) first.
 */
export async function sinkFiles(dir: string, naming: SinkNaming): Promise<SinkFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const ranked = names.flatMap((name) => {
    if (naming === 'daily') return DAILY_FILE.test(name) ? [{ name, index: 0 }] : [];
    if (name === naming.file) return [{ name, index: 0 }];
    const suffix = name.startsWith(`${naming.file}.`) ? name.slice(naming.file.length + 1) : '';
    return /^\d+$/.test(suffix) ? [{ name, index: Number(suffix) }] : [];
  });
  const files = await Promise.all(
    ranked.map(async ({ name, index }) => {
      const path = join(dir, name);
      // A file deleted by rotation since the listing is left out.
      const stats = await stat(path, { bigint: true }).catch(() => undefined);
      return stats ? { path, index, modifiedNs: stats.mtimeNs, bytes: Number(stats.size) } : undefined;
    }),
  );
  return files
    .filter((file) => file !== undefined)
    .sort((a, b) => (naming === 'daily' ? (a.modifiedNs < b.modifiedNs ? -1 : a.modifiedNs > b.modifiedNs ? 1 : a.path < b.path ? -1 : 1) : b.index - a.index))
    .map(({ path, modifiedNs, bytes }) => ({ path, modifiedMs: Number(modifiedNs / 1_000_000n), bytes }));
}
