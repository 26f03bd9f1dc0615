import { Registry } from 'prom-client';
import type { PrometheusContentType } from 'prom-client';
import { keepsText } from './scraped.js';

/**
 * The registry of one supervisor's metrics: prom-client's, whose `metrics()` lets each scraped
 * metric give the text it kept while its series stayed the same (src/observe/scraped.ts). The text
 * is what prom-client's own `metrics()` writes (a test compares them, scrape after scrape). A
 * setting that changes how every metric is written (default labels, the content type) moves
 * `revision`, so no text kept before it is given after it.
 */
export class FleetRegistry extends Registry {
  #revision = 0;

  override setDefaultLabels(labels: object): void {
    this.#revision += 1;
    super.setDefaultLabels(labels);
  }

  override setContentType(contentType: PrometheusContentType): void {
    this.#revision += 1;
    super.setContentType(contentType);
  }

  override clear(): void {
    this.#revision += 1;
    super.clear();
  }

  override async metrics(): Promise<string> {
    // OpenMetrics renames counters as it writes them; that text is left to prom-client whole.
    if (this.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) return super.metrics();
    const parts: string[] = [];
    for (const metric of this.getMetricsAsArray()) {
      const format = (): Promise<string> => this.getSingleMetricAsString(metric.name);
      parts.push(keepsText(metric) ? await metric.keptText(format, this.#revision) : await format());
    }
    // As prom-client joins them.
    return `${parts.join('\n\n')}\n`;
  }
}
