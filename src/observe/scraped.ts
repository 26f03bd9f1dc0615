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
  labels: Record<string, unknown>;
  value: number;
  /** What the text path is handed: no labels of its own, every label shared. */
  forText: MetricValue<string>;
  /** The scrape that last read it. */
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
      if (kept === undefined || !sameLabels(kept.labels, current)) {
        kept = { labels: current, value, forText: textSeries(current, value), scrape: 0 };
        this.kept.set(key, kept);
      } else if (kept.value !== value) {
        kept.value = value;
        kept.forText = textSeries(kept.labels, value);
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

/** A gauge whose series are read at scrape time (see above). */
export class ScrapedGauge<T extends string> extends Gauge<T> {
  readonly #config: GaugeConfiguration<T>;
  readonly #read: Read<T>;
  readonly #kept = new KeptSeriesTable();

  constructor(config: GaugeConfiguration<T>, read: Read<T>) {
    super(config);
    this.#config = config;
    this.#read = read;
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return metricObject(this.#config, GAUGE, withLabels<T>(this.#kept.read(this.#read)));
  }

  /** What prom-client's registry formats the text from (it prefers this to {@link get}). */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return metricObject(this.#config, GAUGE, this.#kept.read(this.#read).map((series) => series.forText as MetricValue<T>));
  }
}

/** A counter whose series are read at scrape time (a total the fleet already keeps). */
export class ScrapedCounter<T extends string> extends Counter<T> {
  readonly #config: CounterConfiguration<T>;
  readonly #read: Read<T>;
  readonly #kept = new KeptSeriesTable();

  constructor(config: CounterConfiguration<T>, read: Read<T>) {
    super(config);
    this.#config = config;
    this.#read = read;
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return metricObject(this.#config, COUNTER, withLabels<T>(this.#kept.read(this.#read)));
  }

  /** What prom-client's registry formats the text from (it prefers this to {@link get}). */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return metricObject(this.#config, COUNTER, this.#kept.read(this.#read).map((series) => series.forText as MetricValue<T>));
  }
}
