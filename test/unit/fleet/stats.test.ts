// StatsBook keeps each server's transitions compactly; what it gives back must be what it was told.
import { describe, expect, it } from 'vitest';
import { HISTORY_CAPACITY, StatsBook } from '../../../src/fleet/stats.js';
import type { ConnectionState } from '../../../src/core/states.js';

const change = (id: string, from: ConnectionState | undefined, to: ConnectionState, at: number, reason?: string) =>
  ({ type: 'state.changed', id, from, to, at, reason }) as const;

describe('StatsBook', () => {
  it('gives back each transition as recorded, reasons on the right ones', () => {
    const book = new StatsBook();
    book.record(change('a', undefined, 'reconnecting', 1));
    book.record(change('a', 'reconnecting', 'connecting', 2.5));
    book.record(change('a', 'connecting', 'reconnecting', 3, 'spawn ENOENT'));
    book.record(change('a', 'reconnecting', 'connecting', 4));
    book.record(change('b', undefined, 'stopped', 5));
    expect(book.of('a').history).toEqual([
      { from: undefined, to: 'reconnecting', at: 1, reason: undefined },
      { from: 'reconnecting', to: 'connecting', at: 2.5, reason: undefined },
      { from: 'connecting', to: 'reconnecting', at: 3, reason: 'spawn ENOENT' },
      { from: 'reconnecting', to: 'connecting', at: 4, reason: undefined },
    ]);
    expect(book.of('b').history).toEqual([{ from: undefined, to: 'stopped', at: 5, reason: undefined }]);
    // A failure out of `connecting` counts; the first start does not.
    expect(book.of('a').errorCount).toBe(1);
    expect(book.of('unknown')).toMatchObject({ errorCount: 0, lastProbeAt: null, history: [] });
    // A plain object: JSON and copies have the history too, and nothing of how it is kept.
    expect(JSON.parse(JSON.stringify(book.of('b')))).toEqual({ errorCount: 0, lastProbeAt: null, history: [{ to: 'stopped', at: 5 }] });
    expect({ ...book.of('b') }.history).toHaveLength(1);
  });

  it(`keeps the last ${HISTORY_CAPACITY}, oldest first, reasons still aligned`, () => {
    const book = new StatsBook();
    const states: ConnectionState[] = ['connecting', 'healthy', 'reconnecting'];
    let from: ConnectionState | undefined;
    for (let index = 0; index < HISTORY_CAPACITY + 7; index += 1) {
      const to = states[index % 3]!;
      book.record(change('a', from, to, index, to === 'reconnecting' ? `lost ${index}` : undefined));
      from = to;
    }
    const history = book.of('a').history;
    expect(history).toHaveLength(HISTORY_CAPACITY);
    expect(history[0]!.at).toBe(7);
    expect(history.at(-1)!.at).toBe(HISTORY_CAPACITY + 6);
    for (const record of history) expect(record.reason).toBe(record.to === 'reconnecting' ? `lost ${record.at}` : undefined);
    book.forget('a');
    expect(book.of('a').history).toEqual([]);
  });
});
