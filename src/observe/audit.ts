// The audit trail (docs/operations.md): one JSON line per state-changing request, to rotating files
// and to the `/events` stream. A record names who, what, on which server and how it ended; never
// the request's body (tool arguments and server entries carry secrets).
import type { Role } from '../config/load.js';
import { EventBus } from '../fleet/event-bus.js';
import type { FileSink } from './file-sink.js';
import { Gate } from './gate.js';
import { forEachLine } from './lines.js';
import { NewestItems } from './newest.js';

/** File scans of `GET /audit` at once: each streams up to 20 rotated files. */
const MAX_CONCURRENT_SCANS = 2;

/**
 * How long records wait to be written to the files together (ms), and how many may wait. The file
 * stream makes one write per chunk it is given, and on a busy service a write per record cost more
 * CPU than anything else a tool call does; the ring and `/events` have every record at once.
 */
const FILE_BATCH_MS = 10;
const FILE_BATCH_LINES = 256;

/** The audited actions: every request that changes the fleet or reaches a server. */
export type AuditAction = 'register' | 'remove' | 'reconnect' | 'stop' | 'start' | 'probe' | 'tool.call' | 'mcp.request' | 'other';

/** Every audited action, for validating `GET /audit?action=`. */
export const AUDIT_ACTIONS: readonly AuditAction[] = ['register', 'remove', 'reconnect', 'stop', 'start', 'probe', 'tool.call', 'mcp.request', 'other'];

/** How an audited request ended: done, refused for its role, refused for its token, or failed. */
export type AuditOutcome = 'ok' | 'denied' | 'unauthorized' | 'error';

/** One line of the audit trail. */
export interface AuditRecord {
  /** When the request arrived (ISO 8601, UTC). */
  time: string;
  /** The request's id: the client's `X-Request-Id` when it sent a plain one, else generated; answered in `X-Request-Id`. */
  requestId: string;
  /** The token's name; null without tokens configured, or for a request without a valid token. */
  token: string | null;
  /** The token's role; null as for `token`. */
  role: Role | null;
  /** What was asked. */
  action: AuditAction;
  /** The server it was about, if any. */
  target: string | null;
  /** The tool, for a tool call (on `/mcp`: the server's own name of the tool). */
  tool?: string;
  /** On `/mcp` (`mcp.request`): the JSON-RPC method asked (`tools/call`, `initialize`, …; `batch` for several). */
  rpcMethod?: string;
  /** The HTTP method. */
  method: string;
  /** The path (never the query or the body). */
  path: string;
  /** How it ended. */
  outcome: AuditOutcome;
  /** The HTTP status answered. */
  status: number;
  /** The error code answered, for a failure. */
  code?: string;
  /** From arrival to the answer (ms). */
  durationMs: number;
  /** Requests without a valid token left out of the trail just before this one (beyond 2 a second). */
  suppressed?: number;
}

/** `/events`: a request was recorded in the audit trail. */
export interface AuditRecorded {
  /** Always `'audit.recorded'`. */
  type: 'audit.recorded';
  /** The record's id, the server it was about and its action, as in the record. */
  record: AuditRecord;
  /** Epoch ms. */
  at: number;
}

/** `GET /audit`'s filters; every field is optional. */
export interface AuditQuery {
  /** Records at or after this time (epoch ms). */
  since?: number;
  /** Records at or before this time (epoch ms). */
  until?: number;
  /** Records about this server. */
  actor?: string;
  /** Records of this action. */
  action?: AuditAction;
  /** At most this many, the newest; default 100. */
  limit?: number;
}

/** Options of an {@link AuditTrail}; every field has a default. */
export interface AuditTrailOptions {
  /** The files the records go to; without one, only the in-memory ring keeps them. */
  sink?: FileSink;
  /** Records kept in memory (what `GET /audit` reads without files, or while they fail); default 1000. */
  capacity?: number;
}

/**
 * Records requests; reads them back. The in-memory ring always has the newest records, so that a
 * disk that fails (the sink degrades) loses nothing recent; reads combine the files with it.
 */
export class AuditTrail {
  private readonly ring: NewestItems<AuditRecord>;
  private readonly bus = new EventBus<AuditRecorded>();
  private readonly scans = new Gate(MAX_CONCURRENT_SCANS);
  /** Lines not yet handed to the sink (at most `FILE_BATCH_MS` old). */
  private unwritten: string[] = [];
  private writeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: AuditTrailOptions = {}) {
    this.ring = new NewestItems(Math.max(1, options.capacity ?? 1_000));
  }

  /** Appends a record: to the ring, to the files (within `FILE_BATCH_MS`), and to subscribers (`/events`). */
  record(record: AuditRecord): void {
    this.ring.push(record);
    if (this.options.sink) {
      this.unwritten.push(JSON.stringify(record));
      if (this.unwritten.length >= FILE_BATCH_LINES) this.writeUnwritten();
      else this.writeTimer ??= setTimeout(() => this.writeUnwritten(), FILE_BATCH_MS);
    }
    this.bus.publish({ type: 'audit.recorded', record, at: Date.parse(record.time) });
  }

  /** Hands the waiting lines to the sink as one chunk, so one write (a dropped chunk counts each of its lines). */
  private writeUnwritten(): void {
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    const { sink } = this.options;
    const lines = this.unwritten;
    if (!sink || lines.length === 0) return;
    this.unwritten = [];
    sink.write(lines.join('\n'), lines.length);
  }

  /** Each record as it is made. */
  subscribe(listener: (event: AuditRecorded) => void): () => void {
    return this.bus.subscribe(listener);
  }

  /**
   * The newest records that match, oldest first: read from the files, and from memory for what
   * they lack (everything without a sink; what a degraded sink dropped). The files are streamed,
   * newest first, stopping once `limit` records are found or `signal` aborts; at most
   * two reads scan files at once, the others wait their turn.
   */
  async query(query: AuditQuery = {}, signal?: AbortSignal): Promise<AuditRecord[]> {
    const limit = Math.max(1, query.limit ?? 100);
    const matches = (record: AuditRecord): boolean => {
      const at = Date.parse(record.time);
      return (
        (query.since === undefined || at >= query.since) &&
        (query.until === undefined || at <= query.until) &&
        (query.actor === undefined || record.target === query.actor) &&
        (query.action === undefined || record.action === query.action)
      );
    };
    // Memory holds the newest records: those found in the files are not added twice. This set is
    // at most `capacity` lines, whatever the size of the files.
    const inMemory = new Map(this.ring.toArray().map((record) => [JSON.stringify(record), record]));
    const fromFiles = this.options.sink ? await this.scans.run(() => this.readFiles(matches, limit, inMemory, query.since, signal)) : [];
    const rest = [...inMemory.values()].filter(matches);
    const merged = rest.length === 0 ? fromFiles : [...fromFiles, ...rest].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    return merged.slice(Math.max(0, merged.length - limit));
  }

  /** The newest `limit` matching records of the files, oldest first; lines also in memory are taken out of `inMemory`. */
  private async readFiles(
    matches: (record: AuditRecord) => boolean,
    limit: number,
    inMemory: Map<string, AuditRecord>,
    since: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<AuditRecord[]> {
    // Files that cannot be listed (the disk that made the sink degrade) leave memory to answer.
    const files = (await this.options.sink?.files().catch(() => undefined)) ?? [];
    let found: AuditRecord[] = [];
    for (const file of files.reverse()) {
      if (found.length >= limit || signal?.aborted) break;
      // Older files are older still.
      if (since !== undefined && file.modifiedMs < since) break;
      let kept: AuditRecord[] = [];
      await forEachLine(
        file.path,
        (line) => {
          inMemory.delete(line);
          const record = parseRecord(line);
          if (!record || !matches(record)) return;
          kept.push(record);
          // Trimmed in batches: shifting one at a time would be quadratic.
          if (kept.length >= limit * 2) kept = kept.slice(-limit);
        },
        signal,
      );
      found = kept.slice(-(limit - found.length)).concat(found);
    }
    return found;
  }

  /** Writes what is queued and closes the files. */
  async close(): Promise<void> {
    this.writeUnwritten();
    await this.options.sink?.close();
  }
}

function parseRecord(line: string): AuditRecord | undefined {
  try {
    const value = JSON.parse(line) as Partial<AuditRecord>;
    return typeof value.time === 'string' && typeof value.action === 'string' ? (value as AuditRecord) : undefined;
  } catch {
    return undefined; // a line cut by a full disk
  }
}
