import { resolve, sep } from 'node:path';
import type { LogListener, LogSink } from '../runtime/log-ring.js';
import { FileSink } from './file-sink.js';
import type { SinkHealth } from './file-sink.js';
import { formatLogLine } from './log-query.js';
import type { Logger } from './logger.js';

/** The defaults of `supervisor.logs` (docs/operations.md). */
export const LOG_FILE_DEFAULTS = { dir: 'logs', maxSizeBytes: 10 * 1024 * 1024, maxAgeDays: 14, maxFiles: 20 } as const;

/** Options of {@link ServerLogFiles}. */
export interface ServerLogFilesOptions {
  /** The directory holding one directory per server (absolute, or relative to the working directory). */
  dir: string;
  /** A file is rotated at this size (bytes); default 10 MiB. */
  maxSizeBytes?: number;
  /** Files not written for this many days are deleted; default 14. */
  maxAgeDays?: number;
  /** Rotated files kept per server; default 20. */
  maxFiles?: number;
  /** Told when a server's files cannot be written, and when they can again. */
  logger?: Logger;
  /** Failure counts and degraded state for the metrics (sink `server_logs`). */
  health?: SinkHealth;
  /** How long a degraded server's files wait before they are opened again; default 60 s. */
  retryAfterMs?: number;
}

/** Whether a server's output reaches its files now: `off` without file logs. */
export type FileLogState = 'on' | 'off' | 'degraded';

/**
 * Server output in files: `<dir>/<id>/<YYYY-MM-DD>.log`, one JSON line per output line
 * (`{"at":"<ISO time>","stream":"stderr","text":"…"}`, redacted as the in-memory ring is), rotated
 * by size and at UTC midnight, with count and age limits. A full or read-only disk degrades one
 * server's files to the ring alone (see `FileSink`); nothing here ever throws at the writer.
 *
 * Give it to `createSupervisor({ …, logSink })`; the HTTP API reads the files back with the ring
 * (`GET /actors/:id/logs`) when given to `createApp({ …, serverLogs })`.
 *
 * @example
 * ```ts
 * const serverLogs = new ServerLogFiles({ dir: '/var/log/mcp-supervisor', logger });
 * const supervisor = createSupervisor(config, { logSink: serverLogs });
 * const app = createApp({ supervisor, serverLogs });
 * // on shutdown, after supervisor.stop()
 * await serverLogs.close();
 * ```
 */
export class ServerLogFiles implements LogSink {
  /** The directory holding one directory per server, absolute. */
  readonly dir: string;
  private readonly sinks = new Map<string, FileSink>();
  private readonly closing = new Set<Promise<void>>();

  constructor(private readonly options: ServerLogFilesOptions) {
    this.dir = resolve(options.dir);
  }

  /** {@link LogSink.open}: the server's files are created with its first line. */
  open(id: string): LogListener {
    return (line) => this.sinkOf(id).write(formatLogLine(line));
  }

  /** {@link LogSink.close}: the server's files are closed (and kept). */
  close(id: string): void {
    const sink = this.sinks.get(id);
    if (!sink) return;
    this.sinks.delete(id);
    const closed = sink.close().finally(() => this.closing.delete(closed));
    this.closing.add(closed);
  }

  /** Closes every server's files, writing what is queued. */
  async closeAll(): Promise<void> {
    for (const id of [...this.sinks.keys()]) this.close(id);
    await Promise.all(this.closing);
  }

  /** Where a server's files are; throws for an id that would lead outside {@link ServerLogFiles.dir}. */
  dirOf(id: string): string {
    const dir = resolve(this.dir, id);
    if (!dir.startsWith(this.dir + sep) || dir.slice(this.dir.length + 1).includes(sep)) throw new Error(`invalid server id for a log directory: "${id}"`);
    return dir;
  }

  /** Whether the server's output reaches its files now. */
  state(id: string): FileLogState {
    return this.sinks.get(id)?.degraded ? 'degraded' : 'on';
  }

  private sinkOf(id: string): FileSink {
    let sink = this.sinks.get(id);
    if (!sink) {
      const { maxSizeBytes, maxAgeDays, maxFiles, logger, health, retryAfterMs } = this.options;
      sink = new FileSink({
        sink: 'server_logs',
        dir: this.dirOf(id),
        naming: 'daily',
        maxSizeBytes: maxSizeBytes ?? LOG_FILE_DEFAULTS.maxSizeBytes,
        maxFiles: maxFiles ?? LOG_FILE_DEFAULTS.maxFiles,
        maxAgeDays: maxAgeDays ?? LOG_FILE_DEFAULTS.maxAgeDays,
        logger: logger?.child({ server: id }),
        health,
        retryAfterMs,
      });
      this.sinks.set(id, sink);
    }
    return sink;
  }
}
