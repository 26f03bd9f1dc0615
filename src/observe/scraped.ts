import { Counter, Gauge } from 'prom-client';
import type { CounterConfiguration, MetricType, GaugeConfiguration, LabelValues, MetricObjectWithValues, MetricValue } from 'prom-client';

/** One series of a scraped metric: its labels and its value now. */
interface ScrapedSample<T extends string> {
  labels: LabelValues<T>;
  value: number;
}

type Read<T extends string> = () => Iterable<ScrapedSample<T>>;

// prom-client declares `MetricType` as an enum in its types only (nothing exists at run time), so
// its values are written as the strings they are.
const GAUGE = 'gauge' as unknown as MetricType;
const COUNTER = 'counter' as unknown as MetricType;

/*
 * Metrics whose series are all read at scrape time from the fleet, one per server.
 *
 * prom-client's own way (`collect()` with `reset()` and `set(labels, v)`) hashes every label set
 * into a map and copies it back out on every scrape: at 10 000 servers that was a third of a
 * scrape. These hand the samples straight to the registry, which still formats them; the metric
 * keeps its name, help, type and label names, so it registers and reads like any other. Each label
 * set goes to the registry as the same object while its values stay the same (`StableLabels`), so
 * the registry formats it once, not on every scrape.
 */

/** One metric's label sets as objects that stay the same from scrape to scrape while their values do. */
class StableLabels {
  /** The label set last seen per value of the first label (the server, for per-server series). */
  private kept = new Map<unknown, Record<string, unknown>>();

  /**
   * The samples, each label set also handed to prom-client as `sharedLabels`: its registry
   * formats a shared set once and keeps the text (weakly, per object), and leaves the names it
   * holds out of `labels`. At 10 000 servers, formatting every label of every series anew was most
   * of a scrape. The text is the same either way (a test compares), and `labels` stay whole, so
   * the registry's JSON, its aggregation, and a prom-client that no longer read `sharedLabels` all
   * see every label. With default labels set on the registry, those are written before a series'
   * own (Prometheus reads label order as meaningless). A metric with two series per first label
   * value (a server's two resources) keeps only the later one's set; the other is formatted anew.
   */
  values<T extends string>(samples: Iterable<ScrapedSample<T>>): Array<MetricValue<T>> {
    const values: Array<MetricValue<T>> = [];
    const seen = new Set<unknown>();
    for (const { labels, value } of samples) {
      const current = labels as Record<string, unknown>;
      let key: unknown;
      for (const name in current) {
        key = current[name];
        break;
      }
      const kept = this.kept.get(key);
      const stable = kept !== undefined && sameLabels(kept, current) ? kept : current;
      if (stable !== kept) this.kept.set(key, stable);
      seen.add(key);
      // `sharedLabels` is not in prom-client's types; its registry reads it (its histograms use it).
      values.push({ value, labels: stable as LabelValues<T>, sharedLabels: stable } as MetricValue<T>);
    }
    // Label sets of series gone since the last scrape (a removed server) are let go.
    if (this.kept.size > seen.size) this.kept = new Map([...seen].map((key) => [key, this.kept.get(key) as Record<string, unknown>]));
    return values;
  }
}

/** The same names with the same values, in any order (producers yield one order per metric). */
function sameLabels(kept: Record<string, unknown>, current: Record<string, unknown>): boolean {
  let count = 0;
  for (const name in current) {
    if (kept[name] !== current[name] || !(name in kept)) return false;
    count += 1;
  }
  for (const _ in kept) count -= 1;
  return count === 0;
}

function metricObject<T extends string>(
  config: { name: string; help: string },
  type: MetricType,
  read: Read<T>,
  labels: StableLabels,
): MetricObjectWithValues<MetricValue<T>> {
  // `collect` is part of prom-client's metric object type; there is nothing to collect here.
  return { name: config.name, help: config.help, type, values: labels.values(read()), aggregator: 'sum', collect: () => undefined };
}

/** A gauge whose series are read at scrape time (see above). */
export class ScrapedGauge<T extends string> extends Gauge<T> {
  readonly #config: GaugeConfiguration<T>;
  readonly #read: Read<T>;

  constructor(config: GaugeConfiguration<T>, read: Read<T>) {
    super(config);
    this.#config = config;
    this.#read = read;
  }

  readonly #labels = new StableLabels();

  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return metricObject(this.#config, GAUGE, this.#read, this.#labels);
  }
}

/** A counter whose series are read at scrape time (a total the fleet already keeps). */
export class ScrapedCounter<T extends string> extends Counter<T> {
  readonly #config: CounterConfiguration<T>;
  readonly #read: Read<T>;

  constructor(config: CounterConfiguration<T>, read: Read<T>) {
    super(config);
    this.#config = config;
    this.#read = read;
  }

  readonly #labels = new StableLabels();

  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return metricObject(this.#config, COUNTER, this.#read, this.#labels);
  }
}
