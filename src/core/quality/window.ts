/**
 * One observation of a connection: either a dedicated health probe or a real
 * tool call whose outcome we piggy-back on, so busy connections need no extra
 * probing to stay measured.
 */
export interface QualitySample {
  /** Epoch milliseconds of the observation; callers supply it so scoring stays deterministic. */
  at: number;
  /** Whether it got an answer: a failed probe or call is `false`. */
  ok: boolean;
  /** Meaningful only when `ok`; failed attempts often end on a timeout, which says nothing about speed. */
  latencyMs: number;
  /** A health probe, or a tool call through the connection. */
  source: 'probe' | 'call';
}

/** Flag bits kept in the low bits of a sample's packed time. */
const OK = 2;
const CALL = 1;

/**
 * A connection's recent quality samples, oldest first, immutable. Each sample is two numbers in
 * one array (its time with `ok` and `source` packed into the two low bits, and its latency), which
 * V8 keeps unboxed: 16 bytes a sample. As objects in an array a full window of 100 took ~5.8 KiB
 * per connection (measured at 1 000 connections), now ~1.8 KiB: the largest part of what a
 * fleet's heap grows by after its first hundred probes.
 *
 * Times are whole milliseconds (a fraction is rounded off). Reads give {@link QualitySample}
 * objects made on demand; JSON gives the array of them, as before.
 */
export class SampleWindow implements Iterable<QualitySample> {
  /** No samples. */
  static readonly EMPTY = new SampleWindow([], true);

  private constructor(
    /** `packed time, latency` per sample, oldest first. */
    private readonly data: readonly number[],
    /**
     * Whether the times never go back: known when the window is made (an append checks only what
     * it adds), since scoring asks on every sample and a scan of a full window was a third of it.
     */
    private readonly inOrder: boolean,
  ) {}

  /** A window holding these samples, in the order given. */
  static of(samples: Iterable<QualitySample>): SampleWindow {
    if (samples instanceof SampleWindow) return samples;
    const data: number[] = [];
    for (const sample of samples) data.push(pack(sample), sample.latencyMs);
    return data.length === 0 ? SampleWindow.EMPTY : new SampleWindow(data, ordered(data, 0));
  }

  /** How many samples it holds. */
  get length(): number {
    return this.data.length / 2;
  }

  /** A new window with `added` after these, keeping the newest `capacity` (at least 0). */
  append(added: readonly QualitySample[], capacity: number): SampleWindow {
    const keep = Math.max(0, Math.floor(capacity)) * 2;
    if (keep === 0) return SampleWindow.EMPTY;
    const extra: number[] = [];
    for (const sample of added) extra.push(pack(sample), sample.latencyMs);
    const total = this.data.length + extra.length;
    // One copy: what is kept of the old window, then the new samples.
    const from = Math.max(0, total - keep);
    const data = from < this.data.length ? this.data.slice(from).concat(extra) : extra.slice(from - this.data.length);
    // What was kept of an ordered window is ordered: only the seam and the new samples are checked.
    const kept = Math.max(0, this.data.length - from);
    const inOrder = kept > 0 && this.inOrder ? ordered(data, kept - 2) : ordered(data, 0);
    return new SampleWindow(data, inOrder);
  }

  /** Epoch ms of sample `index`. */
  timeAt(index: number): number {
    return timeOf(this.data[index * 2]!);
  }

  /** Whether sample `index` got an answer. */
  okAt(index: number): boolean {
    return (flagsOf(this.data[index * 2]!) & OK) !== 0;
  }

  /** Latency of sample `index` (meaningful when it is ok). */
  latencyAt(index: number): number {
    return this.data[index * 2 + 1]!;
  }

  /** Sample `index` as an object. */
  sample(index: number): QualitySample {
    const flags = flagsOf(this.data[index * 2]!);
    return { at: this.timeAt(index), ok: (flags & OK) !== 0, latencyMs: this.latencyAt(index), source: (flags & CALL) !== 0 ? 'call' : 'probe' };
  }

  /** Whether the samples are in time order (they almost always are: they are appended as they happen). */
  isChronological(): boolean {
    return this.inOrder;
  }

  /** The same samples in time order (stable for equal times). */
  chronological(): SampleWindow {
    return this.isChronological() ? this : SampleWindow.of(this.toArray().sort((a, b) => a.at - b.at));
  }

  /** Every sample as an object, oldest first. */
  toArray(): QualitySample[] {
    return Array.from({ length: this.length }, (_, index) => this.sample(index));
  }

  /** JSON shows the samples as objects, as the API always has. */
  toJSON(): QualitySample[] {
    return this.toArray();
  }

  /** The samples as objects, oldest first. */
  *[Symbol.iterator](): Iterator<QualitySample> {
    for (let index = 0; index < this.length; index += 1) yield this.sample(index);
  }
}

function pack(sample: QualitySample): number {
  return Math.round(sample.at) * 4 + (sample.ok ? OK : 0) + (sample.source === 'call' ? CALL : 0);
}

/**
 * The two low bits, for negative times too (virtual clocks may start anywhere). Floor and multiply
 * rather than `%`: packed times are beyond 2³¹, where `%` is a floating-point remainder and was
 * most of the cost of reading a sample.
 */
function flagsOf(packed: number): number {
  return packed - Math.floor(packed / 4) * 4;
}

/** Whether the times in `data` (pairs) never go back from the pair at `start` on. */
function ordered(data: readonly number[], start: number): boolean {
  for (let index = start + 2; index < data.length; index += 2) if (timeOf(data[index]!) < timeOf(data[index - 2]!)) return false;
  return true;
}

function timeOf(packed: number): number {
  return (packed - flagsOf(packed)) / 4;
}
