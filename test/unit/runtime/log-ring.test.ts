import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LogRing } from '../../../src/runtime/log-ring.js';
import { redactor } from '../../../src/core/secrets.js';
import type { LogLine } from '../../../src/runtime/log-ring.js';
import { ProcessGroup } from '../../../src/runtime/process/process-group.js';
import { until } from '../../support/wait.js';

const chatty = fileURLToPath(new URL('../../fixtures/chatty-server.mjs', import.meta.url));
const texts = (lines: LogLine[]): string[] => lines.map((line) => line.text);

describe('LogRing', () => {
  it('splits chunks into lines, keeps the last `capacity` and counts the dropped', () => {
    const ring = new LogRing(3, 10);
    ring.write('one\ntw', 'stderr', 1);
    ring.write('o\r\nthree\nfour\nfive', 'stderr', 2);
    expect(ring.tail()).toEqual([
      { at: 2, stream: 'stderr', text: 'two' },
      { at: 2, stream: 'stderr', text: 'three' },
      { at: 2, stream: 'stderr', text: 'four' },
    ]);
    expect(ring.droppedLines).toBe(1);
    expect(texts(ring.tail(2))).toEqual(['three', 'four']);
    ring.write(' and a very long rest\n', 'stderr');
    expect(texts(ring.tail(1))).toEqual(['five and a']);
  });

  it('keeps the unfinished lines of stdout and stderr apart', () => {
    const ring = new LogRing();
    ring.write('err-start ', 'stderr');
    ring.write('out-start ', 'stdout');
    ring.write('err-end\n', 'stderr');
    ring.write('out-end\n', 'stdout');
    expect(ring.tail().map(({ stream, text }) => `${stream}: ${text}`)).toEqual(['stderr: err-start err-end', 'stdout: out-start out-end']);
  });

  it('tells subscribers of each completed line, in order, until they unsubscribe', () => {
    const ring = new LogRing(2);
    const seen: LogLine[] = [];
    const unsubscribe = ring.subscribe((line) => seen.push(line));
    const other = ring.subscribe(() => {
      throw new Error('a broken subscriber');
    });
    expect(ring.subscriberCount).toBe(2);
    ring.write('a\nb', 'stderr', 5);
    expect(seen).toEqual([{ at: 5, stream: 'stderr', text: 'a' }]);
    ring.write('\nc\nd\n', 'stderr', 6);
    expect(texts(seen)).toEqual(['a', 'b', 'c', 'd']);
    // The listener saw every line, even those the ring has already let go.
    expect(texts(ring.tail())).toEqual(['c', 'd']);
    unsubscribe();
    unsubscribe();
    ring.write('e\n');
    expect(texts(seen)).toEqual(['a', 'b', 'c', 'd']);
    other();
    expect(ring.subscriberCount).toBe(0);
  });

  it('the same function subscribed twice is two subscriptions', () => {
    const ring = new LogRing();
    let count = 0;
    const listener = (): void => void (count += 1);
    const first = ring.subscribe(listener);
    ring.subscribe(listener);
    first();
    ring.write('x\n');
    expect(count).toBe(1);
  });

  it('stays within its bounds however much a real chatty server writes, on both streams', { timeout: 60_000 }, async () => {
    const ring = new LogRing(200, 1_000);
    let delivered = 0;
    let longest = 0;
    const finished = new Set<string>();
    const perStream = { stdout: 0, stderr: 0 };
    ring.subscribe((line) => {
      delivered += 1;
      perStream[line.stream] += 1;
      longest = Math.max(longest, line.text.length);
      if (line.text.startsWith('done ')) finished.add(line.text);
    });
    const group = await ProcessGroup.spawn({ command: process.execPath, args: [chatty, 'flood', '8'] }, { logs: ring, stdoutIsProtocol: false });
    const exit = await group.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    // 'exit' may come before the pipes are drained.
    const done = (): boolean => finished.has('done stdout') && finished.has('done stderr');
    await until(done, 'both streams drained', 10_000, 10);
    await group.terminate();

    expect(done()).toBe(true);
    const lines = ring.tail();
    expect(lines.length).toBe(200);
    expect(lines.every((line) => line.text.length <= 1_000)).toBe(true);
    expect(longest).toBe(1_000);
    // Many MB went through: tens of thousands of lines, all but the last 200 dropped.
    expect(delivered).toBeGreaterThan(50_000);
    expect(ring.droppedLines).toBe(delivered - 200);
    expect(perStream.stdout).toBe(perStream.stderr);
    expect(texts(lines).filter((text) => text.startsWith('done '))).not.toHaveLength(0);
    expect(lines.some((line) => line.text.startsWith('x'))).toBe(false);
  });
});

describe('LogRing redaction', () => {
  it('redacts whole lines, so a secret split across chunks is still found; listeners see the redacted line', () => {
    const ring = new LogRing();
    const heard: string[] = [];
    ring.subscribe((line) => heard.push(line.text));
    ring.redactWith(redactor(['tok-secret-123']));
    ring.write('using tok-sec', 'stderr', 1);
    ring.write('ret-123 and http://u:p@h/x?k=v\nnext', 'stderr', 2);
    ring.flush('stderr', 3);
    expect(ring.tail().map((line) => line.text)).toEqual(['using *** and http://***:***@h/x?k=***', 'next']);
    expect(heard).toEqual(['using *** and http://***:***@h/x?k=***', 'next']);
  });
});
