// Reading server log files back (src/observe/log-query.ts): the filters, the file format, and the
// merge of files with the in-memory ring, on real files.
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatLogLine, logLineMatcher, parseLogLine, readServerLogs } from '../../../src/observe/log-query.js';
import type { LogLine } from '../../../src/runtime/log-ring.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

const T0 = Date.parse('2026-11-30T23:59:59.000Z');
const line = (at: number, text: string, stream: LogLine['stream'] = 'stderr'): LogLine => ({ at, stream, text });

/** Writes daily files the way ServerLogFiles does, each last modified at its last line's time. */
async function files(byName: Record<string, LogLine[]>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-log-query-'));
  dirs.push(dir);
  for (const [name, lines] of Object.entries(byName)) {
    const path = join(dir, name);
    await writeFile(path, lines.map((entry) => `${formatLogLine(entry)}\n`).join(''));
    const last = (lines.at(-1)?.at ?? T0) / 1000;
    await utimes(path, last, last);
  }
  return dir;
}

describe('log queries', () => {
  it('match by stream, time (inclusive), and a case-insensitive plain substring', () => {
    const matches = logLineMatcher({ since: 10, until: 20, grep: 'ERR.', stream: 'stderr' });
    expect(matches(line(10, 'an err. here'))).toBe(true);
    expect(matches(line(20, 'AN ERR. HERE'))).toBe(true);
    expect(matches(line(9, 'err.'))).toBe(false);
    expect(matches(line(21, 'err.'))).toBe(false);
    expect(matches(line(15, 'errx'))).toBe(false); // a substring, not a pattern
    expect(matches(line(15, 'err.', 'stdout'))).toBe(false);
  });

  it('a file line round-trips; anything else (a line cut short by a full disk) is skipped', () => {
    const original = line(T0, 'with "quotes" and \\ and ünïcode');
    expect(parseLogLine(formatLogLine(original))).toEqual(original);
    expect(formatLogLine(original)).toContain('"at":"2026-11-30T23:59:59.000Z"');
    expect(parseLogLine(formatLogLine(original).slice(0, 20))).toBeUndefined();
    expect(parseLogLine('{"at":"never","stream":"stderr","text":"x"}')).toBeUndefined();
    expect(parseLogLine('{"at":"2026-11-30T00:00:00Z","stream":"stdin","text":"x"}')).toBeUndefined();
  });

  it('reads files newest first until enough lines match, across days, and merges the ring without gap or duplicate', async () => {
    const dir = await files({
      '2026-11-30.log': [line(T0 - 2000, 'day one a'), line(T0 - 1000, 'day one b', 'stdout')],
      '2026-12-01.log': [line(T0 + 1000, 'day two a'), line(T0 + 2000, 'chunk 1'), line(T0 + 2000, 'chunk 2'), line(T0 + 2000, 'chunk 3')],
    });
    // The ring kept only the last line of the chunk read at T0 + 2000, and what came after.
    const ring = [line(T0 + 2000, 'chunk 3'), line(T0 + 3000, 'in ring only')];
    const all = await readServerLogs(dir, ring, { lines: 100 });
    expect(all.map((entry) => entry.text)).toEqual(['day one a', 'day one b', 'day two a', 'chunk 1', 'chunk 2', 'chunk 3', 'in ring only']);
    expect((await readServerLogs(dir, ring, { lines: 3 })).map((entry) => entry.text)).toEqual(['chunk 2', 'chunk 3', 'in ring only']);
    expect((await readServerLogs(dir, ring, { lines: 100, stream: 'stdout' })).map((entry) => entry.text)).toEqual(['day one b']);
    expect((await readServerLogs(dir, ring, { lines: 100, grep: 'CHUNK' })).map((entry) => entry.text)).toEqual(['chunk 1', 'chunk 2', 'chunk 3']);
    expect((await readServerLogs(dir, ring, { lines: 100, since: T0, until: T0 + 1500 })).map((entry) => entry.text)).toEqual(['day two a']);
    expect((await readServerLogs(dir, ring, { lines: 100, until: T0 - 1500 })).map((entry) => entry.text)).toEqual(['day one a']);
    // Without files (file logs off), the ring alone.
    expect((await readServerLogs(undefined, ring, { lines: 100 })).map((entry) => entry.text)).toEqual(['chunk 3', 'in ring only']);
    // No files yet at all.
    expect(await readServerLogs(join(dir, 'missing'), [], { lines: 5 })).toEqual([]);
  });
});
