import type { LogLine } from '../runtime/log-ring.js';
import { sinkFiles } from './file-sink.js';
import { forEachLine } from './lines.js';

/** Which lines of a server's output to read: all filters are optional and combine (and). */
export interface LogQuery {
  /** Lines at or after this time (epoch ms). */
  since?: number;
  /** Lines at or before this time (epoch ms). */
  until?: number;
  /** Lines whose text contains this, ignoring case (a plain substring, not a pattern). */
  grep?: string;
  /** Lines of this stream only. */
  stream?: LogLine['stream'];
  /** At most this many lines: the newest that match. */
  lines: number;
}

/** The test a line must pass for `query` (its `lines` bound aside). */
export function logLineMatcher(query: Omit<LogQuery, 'lines'>): (line: LogLine) => boolean {
  const needle = query.grep?.toLowerCase();
  return (line) =>
    (query.stream === undefined || line.stream === query.stream) &&
    (query.since === undefined || line.at >= query.since) &&
    (query.until === undefined || line.at <= query.until) &&
    (needle === undefined || needle === '' || line.text.toLowerCase().includes(needle));
}

/** One line of a server log file: JSON with the time in ISO form, so `jq` and a reader's eye both work. */
export function formatLogLine(line: LogLine): string {
  return JSON.stringify({ at: new Date(line.at).toISOString(), stream: line.stream, text: line.text });
}

/** A line of a server log file back as a {@link LogLine}; undefined for anything else (e.g. a line cut short by a full disk). */
export function parseLogLine(text: string): LogLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { at, stream, text: line } = value as Record<string, unknown>;
  const time = typeof at === 'string' ? Date.parse(at) : NaN;
  if (!Number.isFinite(time) || (stream !== 'stderr' && stream !== 'stdout') || typeof line !== 'string') return undefined;
  return { at: time, stream, text: line };
}

/**
 * The newest `query.lines` lines of the daily files in `dir` that match `query` and are older
 * than `before` (epoch ms), oldest first. Files are
 * streamed, never read whole, newest first, until enough lines are found; files that cannot hold a
 * matching line (last written before `since`, or dated after `until`) are not opened.
 */
async function readLogFiles(dir: string, query: LogQuery, options: { before?: number; signal?: AbortSignal } = {}): Promise<LogLine[]> {
  const until = Math.min(query.until ?? Infinity, (options.before ?? Infinity) - 1);
  const matches = logLineMatcher({ ...query, until });
  const files = await sinkFiles(dir, 'daily');
  let found: LogLine[] = [];
  for (const file of files.reverse()) {
    if (found.length >= query.lines || options.signal?.aborted) break;
    if (query.since !== undefined && file.modifiedMs < query.since) break; // older files are older still
    // A daily file is opened on its (UTC) date: it holds nothing from before that day.
    const day = Date.parse(/(\d{4}-\d{2}-\d{2})[^/]*$/.exec(file.path)?.[1] ?? '');
    if (Number.isFinite(day) && day > until) continue;
    const fromFile = await matchingLines(file.path, matches, query.lines - found.length, options.signal);
    found = fromFile.concat(found);
  }
  return found;
}

/** The last `keep` lines of one file that pass `matches`, read as a stream. */
async function matchingLines(path: string, matches: (line: LogLine) => boolean, keep: number, signal?: AbortSignal): Promise<LogLine[]> {
  let kept: LogLine[] = [];
  await forEachLine(
    path,
    (text) => {
      const line = parseLogLine(text);
      if (!line || !matches(line)) return;
      kept.push(line);
      // Trimmed in batches: shifting one at a time would be quadratic.
      if (kept.length >= keep * 2) kept = kept.slice(-keep);
    },
    signal,
  );
  return kept.slice(-keep);
}

/**
 * A server's lines for `query`, from its files and its in-memory ring together: the ring is
 * complete for the time it covers (from its oldest line on), the files for what came before
 * (and across restarts). `ring` is the ring's content, oldest first.
 */
export async function readServerLogs(dir: string | undefined, ring: readonly LogLine[], query: LogQuery, signal?: AbortSignal): Promise<LogLine[]> {
  const fromRing = ring.filter(logLineMatcher(query)).slice(-query.lines);
  if (dir === undefined || fromRing.length >= query.lines) return fromRing;
  const oldest = ring[0]?.at;
  // Nothing older than the ring's oldest line can match when `since` is after it.
  if (oldest !== undefined && query.since !== undefined && query.since > oldest) return fromRing;
  // Lines read in one chunk share their time: the ring may hold only the last of those at its
  // oldest time. The files' lines at that time, less as many as the ring holds, are the ones it lost.
  const shared = oldest === undefined ? 0 : fromRing.filter((line) => line.at === oldest).length;
  const need = query.lines - fromRing.length;
  const fromFiles = await readLogFiles(dir, { ...query, lines: need + shared }, { before: oldest === undefined ? undefined : oldest + 1, signal });
  let end = fromFiles.length;
  for (let drop = shared; drop > 0 && end > 0 && fromFiles[end - 1]?.at === oldest; drop--) end -= 1;
  return fromFiles.slice(0, end).slice(-need).concat(fromRing);
}
