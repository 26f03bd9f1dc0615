import { Registry } from 'prom-client';
import type { PrometheusContentType } from 'prom-client';
import { keepsText } from './scraped.js';
import type { FormatMetric } from './scraped.js';

/** prom-client's registry as it formats one metric object (`metrics()` does so for each). */
interface FormatsMetrics {
  getMetricsAsString?: FormatMetric;
}

/**
 * The registry of one supervisor's metrics: prom-client's, whose `metrics()` lets each scraped
 * metric give the text it kept while its series stayed the same (src/observe/scraped.ts). It
 * writes what prom-client's own `metrics()` writes for the same metrics at that moment (a test
 * compares them, scrape after scrape). A setting that changes how every metric is written
 * (default labels, the content type) replaces `revision`, an object no other registry holds, so
 * no text kept before it is given after it. Default labels are copied when set: prom-client
 * would read a caller's object as it is at each scrape, which a kept text cannot follow.
 */
export class FleetRegistry extends Registry {
  #revision: object = {};

  override setDefaultLabels(labels: object): void {
    this.#revision = {};
    super.setDefaultLabels({ ...labels });
  }

  override setContentType(contentType: PrometheusContentType): void {
    this.#revision = {};
    super.setContentType(contentType);
  }

  override clear(): void {
    this.#revision = {};
    super.clear();
  }

  override async metrics(): Promise<string> {
    // prom-client formats each metric object with a method its types leave out. Without it (a
    // later prom-client), or for OpenMetrics (which renames counters as it writes them), the
    // whole text is prom-client's own.
    const formatter = (this as FormatsMetrics).getMetricsAsString;
    if (formatter === undefined || this.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) return super.metrics();
    const format: FormatMetric = (metric) => formatter.call(this, metric);
    const revision = this.#revision;
    // All at once, as prom-client does: every read starts in this turn of the loop.
    const parts = await Promise.all(this.getMetricsAsArray().map((metric) => (keepsText(metric) ? metric.keptText(format, revision) : format(metric as never))));
    // As prom-client joins them.
    return `${parts.join('\n\n')}\n`;
  }
}
