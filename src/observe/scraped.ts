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
 * keeps its name, help, type and label names, so it registers and reads like any other.
 */

function metricObject<T extends string>(
  config: { name: string; help: string },
  type: MetricType,
  read: Read<T>,
): MetricObjectWithValues<MetricValue<T>> {
  // `collect` is part of prom-client's metric object type; there is nothing to collect here.
  return { name: config.name, help: config.help, type, values: [...read()], aggregator: 'sum', collect: () => undefined };
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

  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return metricObject(this.#config, GAUGE, this.#read);
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

  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return metricObject(this.#config, COUNTER, this.#read);
  }
}
