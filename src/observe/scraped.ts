import { Counter, Gauge } from 'prom-client';
import type { CounterConfiguration, MetricType, GaugeConfiguration, LabelValues, MetricObjectWithValues, MetricValue } from 'prom-client';

/** Hands one series to a scraped metric: its labels and its value now. */
type Emit<T extends string> = (labels: LabelValues<T>, value: number) => void;

/** Reads a scraped metric's series now, handing each to `emit`. */
type Read<T extends string> = (emit: Emit<T>) => void;

/** A series' own labels when they are all shared ones (see {@link KeptSeries}); never written to. */
const NO_LABELS: Readonly<Record<string, never>> = Object.freeze({});

/*
 * Metrics whose series are all read at scrape time from the fleet, one per server.
 *
 * prom-client's own way (`collect()` with `reset()` and `set(labels, v)`) hashes every label set
 * into a map and copies it back out on every scrape: at 10 000 servers that was a third of a
 * scrape. These hand the samples straight to the registry, which still formats them; the metric
 * keeps its name, help, type and label names, so it registers and reads like any other. Each label
 * set goes to the registry as the same object while its values stay the same (`KeptSeriesTable`), so
 * the registry formats it once, not on every scrape.
 *
 * What a scrape allocates matters as much as what it computes: at 10 000 servers a scrape made
 * ~31 MB of short-lived objects (two scavenges of ~10 ms each inside every scrape), a sixth of
 * them prom-client listing each series' labels only to find them all shared. So the readers push
 * into a callback, a series whose labels and value did not move is handed over as last scrape's
 * object, and the text path gets the series with no labels of its own (prom-client's histograms
 * do the same: `getForPromString` for the text, `get` with every label for JSON): 22 MB. Most of
 * the rest is prom-client writing 20 000 lines, which a steady fleet is spared (`ScrapedText`).
 */

/**
 * One series as kept from the last scrape, in the shape prom-client's text path reads: no labels
 * of its own, every label shared (`sharedLabels` is not in prom-client's types; its registry reads
 * it, and its histograms use it). Never changed: a series that moves is a new object. One object
 * per series, since a fleet of 10 000 keeps 20 000 of them.
 */
interface KeptSeries {
  readonly value: number;
  readonly labels: Readonly<Record<string, never>>;
  /** Its label set: the same object while the label values stay the same. */
  readonly sharedLabels: Record<string, unknown>;
}

/**
 * The series kept under one value of a metric's first label, in the order they were read: the
 * first, and the others only for a metric with several per key (a server's two resources).
 */
interface KeyedSeries {
  first: KeptSeries | undefined;
  more: KeptSeries[] | undefined;
  /** The scrape that last read this key, and how many series it read under it. */
  scrape: number;
  count: number;
}

/** One metric's series as objects that stay the same from scrape to scrape while their values do. */
class KeptSeriesTable {
  /** Per value of the first label (the server, for per-server series). */
  private kept = new Map<unknown, KeyedSeries>();
  private scrape = 0;

  /**
   * Reads the series now. Each label set is handed to prom-client as `sharedLabels`: its registry
   * formats a shared set once and keeps the text (weakly, per object). The text is the same either
   * way (a test compares). With default labels set on the registry, those are written before a
   * series' own (Prometheus reads label order as meaningless). Series under the same first label
   * are matched by their order under it.
   */
  read<T extends string>(read: Read<T>): KeptSeries[] {
    this.scrape += 1;
    const scrape = this.scrape;
    const series: KeptSeries[] = [];
    let keys = 0;
    read((labels, value) => {
      const current = labels as Record<string, unknown>;
      let key: unknown;
      for (const name in current) {
        key = current[name];
        break;
      }
      let keyed = this.kept.get(key);
      if (keyed === undefined) {
        keyed = { first: undefined, more: undefined, scrape: 0, count: 0 };
        this.kept.set(key, keyed);
      }
      if (keyed.scrape !== scrape) {
        // The first series under this key this scrape: forget any the last one had beyond its
        // count. Only memory: a kept series is reused only once its labels and value compare.
        if (keyed.more !== undefined && keyed.more.length >= keyed.count) {
          if (keyed.count <= 1) keyed.more = undefined;
          else keyed.more.length = keyed.count - 1;
        }
        keyed.scrape = scrape;
        keyed.count = 0;
        keys += 1;
      }
      const index = keyed.count;
      keyed.count += 1;
      let kept = index === 0 ? keyed.first : keyed.more?.[index - 1];
      const labelsMoved = kept === undefined || !sameLabels(kept.sharedLabels, current);
      // Object.is: a NaN value stays NaN (and 0 and -0, written alike, count as a move: harmless).
      if (kept === undefined || labelsMoved || !Object.is(kept.value, value)) {
        kept = { value, labels: NO_LABELS, sharedLabels: kept === undefined || labelsMoved ? current : kept.sharedLabels };
        if (index === 0) keyed.first = kept;
        else (keyed.more ??= [])[index - 1] = kept;
      }
      series.push(kept);
    });
    // Keys gone since the last scrape (a removed server) are let go.
    if (this.kept.size > keys) for (const [key, keyed] of this.kept) if (keyed.scrape !== scrape) this.kept.delete(key);
    return series;
  }
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

/**
 * What a scraped metric hands the registry. Its name, help and type as prom-client holds them on
 * the metric object (not as configured): its registry renames a counter in place when writing
 * OpenMetrics, and writes the name it finds.
 */
function metricObject<T extends string>(metric: object, values: Array<MetricValue<T>>): MetricObjectWithValues<MetricValue<T>> {
  const { name, help, type } = metric as { name: string; help: string; type: MetricType };
  // `collect` is part of prom-client's metric object type; there is nothing to collect here.
  return { name, help, type, values, aggregator: 'sum', collect: () => undefined };
}

/** Every label as the series' own, as the registry's JSON and aggregation read them. */
function withLabels<T extends string>(series: readonly KeptSeries[]): Array<MetricValue<T>> {
  return series.map(({ sharedLabels, value }) => ({ value, labels: sharedLabels as LabelValues<T> }));
}

/** The series as the text path reads them: they are its shape; a copy of the list, which a kept text is compared by. */
function forText<T extends string>(series: readonly KeptSeries[]): Array<MetricValue<T>> {
  return series.slice() as unknown as Array<MetricValue<T>>;
}

/** Formats one metric (anything with `getForPromString`) as the registry writes it. */
export type FormatMetric = (metric: { getForPromString(): Promise<MetricObjectWithValues<MetricValue<string>>> }) => Promise<string>;

/**
 * A scraped metric's series, and the text the registry last made of them. A scrape at 10 000
 * servers spent about a third of its time in prom-client formatting 20 000 lines that were, for
 * most of them, the lines of the scrape before: the facts of each connection (transport, era)
 * move only on a reconnect, its state only on a transition. The text is kept with the series it
 * was made from, and given again only for the very same series objects in the same order, which
 * {@link KeptSeriesTable} gives only while every label and value stayed (a moved one is a new
 * object), and only under the same registry settings (`revision`, see `FleetRegistry`). The
 * series are handed to the formatter with the text they make, never through the metric, so no
 * other read can come between them.
 */
class ScrapedText {
  readonly #table = new KeptSeriesTable();
  /** The metric these are the series of: its name, help and type as prom-client holds them. */
  readonly #metric: object;
  readonly #read: Read<string>;
  #kept: { text: string; basis: readonly KeptSeries[]; revision: object; name: string } | undefined;

  constructor(metric: object, read: Read<string>) {
    this.#metric = metric;
    this.#read = read;
  }

  /** The metric with every label as each series' own, as the registry's JSON and aggregation read it. */
  json<T extends string>(): MetricObjectWithValues<MetricValue<T>> {
    return metricObject(this.#metric, withLabels<T>(this.#table.read(this.#read)));
  }

  /** The metric as prom-client's text path reads it. */
  forPromString<T extends string>(): MetricObjectWithValues<MetricValue<T>> {
    return metricObject(this.#metric, forText<T>(this.#table.read(this.#read)));
  }

  /**
   * The metric's text now: kept from the last time when its series are the same objects under
   * the same name (another registry writing OpenMetrics renames a counter in place), else made by
   * `format` and kept.
   */
  async text(format: FormatMetric, revision: object): Promise<string> {
    const series = this.#table.read(this.#read);
    const { name } = this.#metric as { name: string };
    const kept = this.#kept;
    if (kept !== undefined && kept.revision === revision && kept.name === name && sameSeries(kept.basis, series)) return kept.text;
    const text = await format({ getForPromString: async () => metricObject(this.#metric, forText(series)) });
    this.#kept = { text, basis: series, revision, name };
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
  /**
   * The metric's text now (see `ScrapedText`): kept, or made by `format`. `revision` is an
   * object the registry replaces whenever it changes how metrics are written.
   */
  keptText(format: FormatMetric, revision: object): Promise<string>;
}

/** A gauge whose series are read at scrape time (see above). */
export class ScrapedGauge<T extends string> extends Gauge<T> implements TextKeeping {
  readonly #series: ScrapedText;

  constructor(config: GaugeConfiguration<T>, read: Read<T>) {
    super(config);
    this.#series = new ScrapedText(this, read as Read<string>);
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return this.#series.json<T>();
  }

  /** What prom-client's registry formats the text from (it prefers this to {@link get}). */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return this.#series.forPromString<T>();
  }

  keptText(format: FormatMetric, revision: object): Promise<string> {
    return this.#series.text(format, revision);
  }
}

/** A counter whose series are read at scrape time (a total the fleet already keeps). */
export class ScrapedCounter<T extends string> extends Counter<T> implements TextKeeping {
  readonly #series: ScrapedText;

  constructor(config: CounterConfiguration<T>, read: Read<T>) {
    super(config);
    this.#series = new ScrapedText(this, read as Read<string>);
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return this.#series.json<T>();
  }

  /** What prom-client's registry formats the text from (it prefers this to {@link get}). */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return this.#series.forPromString<T>();
  }

  keptText(format: FormatMetric, revision: object): Promise<string> {
    return this.#series.text(format, revision);
  }
}

/** Whether a registered metric keeps its text ({@link TextKeeping}). */
export function keepsText(metric: unknown): metric is TextKeeping {
  return metric instanceof ScrapedGauge || metric instanceof ScrapedCounter;
}
