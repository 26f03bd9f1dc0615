import { Counter, Gauge } from 'prom-client';
import type { CounterConfiguration, MetricType, GaugeConfiguration, LabelValues, MetricObjectWithValues, MetricValue } from 'prom-client';

/** Hands one series to a scraped metric: its labels and its value now. */
type Emit<T extends string> = (labels: LabelValues<T>, value: number) => void;

/** Reads a scraped metric's series now, handing each to `emit`. */
type Read<T extends string> = (emit: Emit<T>) => void;

// prom-client declares `MetricType` as an enum in its types only (nothing exists at run time), so
// its values are written as the strings they are.
const GAUGE = 'gauge' as unknown as MetricType;
const COUNTER = 'counter' as unknown as MetricType;

/** A series' own labels when they are all shared ones (see {@link KeptSeries.forText}); never written to. */
const NO_LABELS: Readonly<Record<string, never>> = Object.freeze({});

/*
 * Metrics whose series are all read at scrape time from the fleet, one per server.
 *
 * prom-client's own way (`collect()` with `reset()` and `set(labels, v)`) hashes every label set
 * into a map and copies it back out on every scrape: at 10 000 servers that was a third of a
 * scrape. These hand the samples straight to the registry, which still formats them; the metric
 * keeps its name, help, type and label names, so it registers and reads like any other. Each label
 * set goes to the registry as the same object while its values stay the same (`KeptSeries`), so
 * the registry formats it once, not on every scrape.
 *
 * What a scrape allocates matters as much as what it computes: at 10 000 servers a scrape made
 * ~31 MB of short-lived objects (two scavenges of ~10 ms each inside every scrape), half of them
 * prom-client listing each series' labels only to find them all shared, and a tenth the
 * iterator results of generators. So the readers push into a callback, a series whose labels
 * and value did not move is handed over as last scrape's object, and the text path gets the
 * series with no labels of its own (prom-client's histograms do the same: `getForPromString`
 * for the text, `get` with every label for JSON).
 */

/** One series as kept from the last scrape. */
interface KeptSeries {
  /** Its label set: the same object while the values stay the same. */
  readonly labels: Record<string, unknown>;
  readonly value: number;
  /** What the text path is handed: no labels of its own, every label shared. */
  readonly forText: MetricValue<string>;
  /** The scrape that last read it (the one field that changes). */
  scrape: number;
}

/** One metric's series as objects that stay the same from scrape to scrape while their values do. */
class KeptSeriesTable {
  /** Per value of the first label (the server, for per-server series). */
  private kept = new Map<unknown, KeptSeries>();
  private scrape = 0;

  /**
   * Reads the series now. Each label set is also handed to prom-client as `sharedLabels`: its
   * registry formats a shared set once and keeps the text (weakly, per object). The text is the
   * same either way (a test compares). With default labels set on the registry, those are
   * written before a series' own (Prometheus reads label order as meaningless). A metric with
   * two series per first label value (a server's two resources) keeps only the later one; the
   * other is made anew on every scrape.
   */
  read<T extends string>(read: Read<T>): KeptSeries[] {
    this.scrape += 1;
    const scrape = this.scrape;
    const series: KeptSeries[] = [];
    let distinct = 0;
    read((labels, value) => {
      const current = labels as Record<string, unknown>;
      let key: unknown;
      for (const name in current) {
        key = current[name];
        break;
      }
      let kept = this.kept.get(key);
      const labelsMoved = kept === undefined || !sameLabels(kept.labels, current);
      if (kept === undefined || labelsMoved || kept.value !== value) {
        // A new object whenever labels or value move, never an old one changed: the same
        // objects in the same order are then the same text (see ScrapedText).
        const stable = kept === undefined || labelsMoved ? current : kept.labels;
        kept = { labels: stable, value, forText: textSeries(stable, value), scrape: 0 };
        this.kept.set(key, kept);
      }
      if (kept.scrape !== scrape) distinct += 1;
      kept.scrape = scrape;
      series.push(kept);
    });
    // Series gone since the last scrape (a removed server) are let go.
    if (this.kept.size > distinct) this.kept = new Map([...this.kept].filter(([, kept]) => kept.scrape === scrape));
    return series;
  }
}

function textSeries(labels: Record<string, unknown>, value: number): MetricValue<string> {
  // `sharedLabels` is not in prom-client's types; its registry reads it (its histograms use it).
  return { value, labels: NO_LABELS, sharedLabels: labels } as MetricValue<string>;
}

/** The same names with the same values, in any order (readers emit one order per metric). */
function sameLabels(kept: Record<string, unknown>, current: Record<string, unknown>): boolean {
  let count = 0;
  for (const name in current) {
    if (kept[name] !== current[name] || !(name in kept)) return false;
    count += 1;
  }
  for (const _ in kept) count -= 1;
  return count === 0;
}

/** What a scraped metric hands the registry. */
function metricObject<T extends string>(config: { name: string; help: string }, type: MetricType, values: Array<MetricValue<T>>): MetricObjectWithValues<MetricValue<T>> {
  // `collect` is part of prom-client's metric object type; there is nothing to collect here.
  return { name: config.name, help: config.help, type, values, aggregator: 'sum', collect: () => undefined };
}

/** Every label in `labels`, as the registry's JSON and aggregation read them. */
function withLabels<T extends string>(series: readonly KeptSeries[]): Array<MetricValue<T>> {
  return series.map(({ labels, value }) => ({ value, labels: labels as LabelValues<T> }));
}

/**
 * A scraped metric's series, and the text the registry last made of them. A scrape at 10 000
 * servers spent about a third of its time in prom-client formatting 20 000 lines that were, for
 * most of them, the lines of the scrape before: the facts of each connection (transport, era)
 * move only on a reconnect, its state only on a transition. The text is kept with the series it
 * was made from, and given again only for the very same series objects in the same order, which
 * {@link KeptSeriesTable} makes only while every label and value stayed (a moved one is a new
 * object), and for the same registry settings (`revision`, see `FleetRegistry`).
 */
class ScrapedText<T extends string> {
  readonly #table = new KeptSeriesTable();
  readonly #read: Read<T>;
  /** Series read for the text being made, handed to the registry's next read of this metric. */
  #pending: KeptSeries[] | undefined;
  #kept: { text: string; basis: readonly KeptSeries[]; revision: number } | undefined;

  constructor(read: Read<T>) {
    this.#read = read;
  }

  /** The series now: the ones just read for the text being made, or read now. */
  take(): KeptSeries[] {
    const series = this.#pending ?? this.#table.read(this.#read);
    this.#pending = undefined;
    return series;
  }

  /**
   * This metric's text now: kept from the last time when its series are the same objects,
   * otherwise made by `format` (the registry, which reads them with {@link take}) and kept.
   */
  async text(format: () => Promise<string>, revision: number): Promise<string> {
    const series = this.#table.read(this.#read);
    const kept = this.#kept;
    if (kept !== undefined && kept.revision === revision && sameSeries(kept.basis, series)) return kept.text;
    this.#pending = series;
    const text = await format();
    // Kept only when the registry read the very series compared next time (it reads this
    // metric once, at once; a prom-client that did otherwise gets its text made every scrape).
    this.#kept = this.#pending === undefined ? { text, basis: series, revision } : undefined;
    this.#pending = undefined;
    return text;
  }
}

function sameSeries(kept: readonly KeptSeries[], now: readonly KeptSeries[]): boolean {
  if (kept.length !== now.length) return false;
  for (let index = 0; index < now.length; index += 1) if (kept[index] !== now[index]) return false;
  return true;
}

/** A metric whose series are read at scrape time and whose text is kept while they stay (a {@link ScrapedGauge} or {@link ScrapedCounter}). */
export interface TextKeeping {
  /** The metric's text now (see `ScrapedText`); `format` makes it anew through the registry. */
  keptText(format: () => Promise<string>, revision: number): Promise<string>;
}

/** A gauge whose series are read at scrape time (see above). */
export class ScrapedGauge<T extends string> extends Gauge<T> implements TextKeeping {
  readonly #config: GaugeConfiguration<T>;
  readonly #series: ScrapedText<T>;

  constructor(config: GaugeConfiguration<T>, read: Read<T>) {
    super(config);
    this.#config = config;
    this.#series = new ScrapedText(read);
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return metricObject(this.#config, GAUGE, withLabels<T>(this.#series.take()));
  }

  /** What prom-client's registry formats the text from (it prefers this to {@link get}). */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return metricObject(this.#config, GAUGE, this.#series.take().map((series) => series.forText as MetricValue<T>));
  }

  keptText(format: () => Promise<string>, revision: number): Promise<string> {
    return this.#series.text(format, revision);
  }
}

/** A counter whose series are read at scrape time (a total the fleet already keeps). */
export class ScrapedCounter<T extends string> extends Counter<T> implements TextKeeping {
  readonly #config: CounterConfiguration<T>;
  readonly #series: ScrapedText<T>;

  constructor(config: CounterConfiguration<T>, read: Read<T>) {
    super(config);
    this.#config = config;
    this.#series = new ScrapedText(read);
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return metricObject(this.#config, COUNTER, withLabels<T>(this.#series.take()));
  }

  /** What prom-client's registry formats the text from (it prefers this to {@link get}). */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return metricObject(this.#config, COUNTER, this.#series.take().map((series) => series.forText as MetricValue<T>));
  }

  keptText(format: () => Promise<string>, revision: number): Promise<string> {
    return this.#series.text(format, revision);
  }
}

/** Whether a registered metric keeps its text ({@link TextKeeping}). */
export function keepsText(metric: unknown): metric is TextKeeping {
  return metric instanceof ScrapedGauge || metric instanceof ScrapedCounter;
}
