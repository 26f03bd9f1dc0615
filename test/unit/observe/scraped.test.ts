// Metrics read at scrape time (src/observe/scraped.ts) hand prom-client label sets that stay the
// same objects between scrapes, so it formats each once. What a scrape says must not depend on
// that: the text is compared with prom-client's own gauge and counter holding the same series,
// over scrapes where label values change, series go away and come back, and two series share a
// first label.
import { Counter, Gauge, Registry } from 'prom-client';
import type { OpenMetricsContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ScrapedCounter, ScrapedGauge } from '../../../src/observe/scraped.js';

type Series = Array<{ labels: { server: string; state?: string; era?: string }; value: number }>;

/** The text prom-client writes for these series with its own gauge (or counter). */
async function reference(kind: 'gauge' | 'counter', series: Series): Promise<string> {
  const registry = new Registry();
  const config = { name: 'x_series', help: 'help with a \\ and a\nnewline', labelNames: ['server', 'state', 'era'] as const, registers: [registry] };
  if (kind === 'gauge') {
    const gauge = new Gauge(config);
    for (const { labels, value } of series) gauge.set(labels, value);
  } else {
    const counter = new Counter(config);
    for (const { labels, value } of series) counter.inc(labels, value);
  }
  return registry.metrics();
}

const rounds: Series[] = [
  [
    { labels: { server: 'a', state: 'healthy', era: 'modern' }, value: 1 },
    { labels: { server: 'b "quoted"\\', state: 'degraded', era: 'legacy' }, value: 2 },
    { labels: { server: 'c\nline', state: 'zombie', era: 'none' }, value: 3 },
  ],
  // a moves, b goes, c stays, d arrives
  [
    { labels: { server: 'a', state: 'reconnecting', era: 'modern' }, value: 1 },
    { labels: { server: 'c\nline', state: 'zombie', era: 'none' }, value: 4 },
    { labels: { server: 'd', state: 'healthy', era: 'legacy' }, value: 5 },
  ],
  // b is back as it was; two series share a first label; a label left out
  [
    { labels: { server: 'b "quoted"\\', state: 'degraded', era: 'legacy' }, value: 2 },
    { labels: { server: 'a', state: 'healthy', era: 'modern' }, value: 6 },
    { labels: { server: 'a', state: 'failed', era: 'modern' }, value: 7 },
    { labels: { server: 'd', era: 'legacy' }, value: 8 },
  ],
  [],
  [{ labels: { server: 'a', state: 'healthy', era: 'modern' }, value: 9 }],
];

describe('scraped metrics', () => {
  for (const kind of ['gauge', 'counter'] as const) {
    it(`write what prom-client's own ${kind} writes, scrape after scrape`, async () => {
      const registry = new Registry();
      let now: Series = [];
      const config = { name: 'x_series', help: 'help with a \\ and a\nnewline', labelNames: ['server', 'state', 'era'] as const, registers: [registry] };
      const read = (emit: (labels: Series[number]['labels'], value: number) => void) => now.forEach(({ labels, value }) => emit(labels, value));
      if (kind === 'gauge') new ScrapedGauge(config, read);
      else new ScrapedCounter(config, read);
      for (const round of rounds) {
        now = round;
        expect(await registry.metrics()).toBe(await reference(kind, round));
        // Twice: the second scrape is the one that reads the kept label sets.
        expect(await registry.metrics()).toBe(await reference(kind, round));
      }
    });
  }

  it('keep every label in the registry’s JSON, and hand prom-client the same label sets while they stay the same', async () => {
    const registry = new Registry();
    const round = rounds[0] as Series;
    // Fresh objects with the same values on every read, as the fleet's generators make them.
    const gauge = new ScrapedGauge({ name: 'x_series', help: 'h', labelNames: ['server', 'state', 'era'] as const, registers: [registry] }, (emit) => round.forEach(({ labels, value }) => emit({ ...labels }, value)));
    const own = new Registry();
    const ownGauge = new Gauge({ name: 'x_series', help: 'h', labelNames: ['server', 'state', 'era'] as const, registers: [own] });
    for (const { labels, value } of round) ownGauge.set(labels, value);
    const plain = (json: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) => json.map((metric) => metric.values.map(({ labels, value }) => ({ labels, value })));
    expect(plain(await registry.getMetricsAsJSON())).toEqual(plain(await own.getMetricsAsJSON()));
    const first = await gauge.get();
    const second = await gauge.get();
    expect(second.values.map((value) => value.labels)).toEqual(round.map((series) => series.labels));
    second.values.forEach((value, index) => expect(value.labels).toBe(first.values[index]?.labels));
  });

  it('with default labels on the registry, write the same series, the default labels first', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ instance: 'i1' });
    const round = rounds[0] as Series;
    new ScrapedGauge({ name: 'x_series', help: 'h', labelNames: ['server', 'state', 'era'] as const, registers: [registry] }, (emit) => round.forEach(({ labels, value }) => emit(labels, value)));
    const own = new Registry();
    own.setDefaultLabels({ instance: 'i1' });
    const ownGauge = new Gauge({ name: 'x_series', help: 'h', labelNames: ['server', 'state', 'era'] as const, registers: [own] });
    for (const { labels, value } of round) ownGauge.set(labels, value);
    const ours = await registry.metrics();
    expect(ours).toContain('x_series{instance="i1",server="a",state="healthy",era="modern"} 1');
    // The same lines once each line's labels are put in one order (Prometheus reads them so).
    const sorted = (text: string) => text.split('\n').map((line) => line.replace(/\{(.*)\} /, (_, labels: string) => `{${labels.split(/,(?=[a-z]+=")/).sort().join(',')}} `));
    expect(sorted(ours)).toEqual(sorted(await own.metrics()));
    expect(sorted(await registry.metrics())).toEqual(sorted(await own.metrics()));
  });
  it('hand the text path last scrape’s series while labels and value stay, and a new one when either moves', async () => {
    let now: Series = rounds[0] as Series;
    const gauge = new ScrapedGauge({ name: 'x_series', help: 'h', labelNames: ['server', 'state', 'era'] as const, registers: [] }, (emit) => now.forEach(({ labels, value }) => emit({ ...labels }, value)));
    const first = (await gauge.getForPromString()).values;
    const second = (await gauge.getForPromString()).values;
    second.forEach((series, index) => expect(series).toBe(first[index]));
    // Only the text path goes without labels of its own: every label is shared with it.
    expect(first.map((series) => (series as unknown as { sharedLabels: unknown }).sharedLabels)).toEqual(now.map((series) => series.labels));
    now = [
      { labels: { server: 'a', state: 'healthy', era: 'modern' }, value: 10 },
      { labels: { server: 'b "quoted"\\', state: 'healthy', era: 'legacy' }, value: 2 },
      { labels: { server: 'c\nline', state: 'zombie', era: 'none' }, value: 3 },
    ];
    const third = (await gauge.getForPromString()).values;
    expect(third.map((series) => series.value)).toEqual([10, 2, 3]);
    expect(third[0]).not.toBe(first[0]);
    expect(third[1]).not.toBe(first[1]);
    expect(third[2]).toBe(first[2]);
  });

  it('write what prom-client writes in the OpenMetrics format too', async () => {
    const round = rounds[0] as Series;
    // A counter named with its `_total`, which OpenMetrics writes once, not twice.
    const config = { name: 'x_series_total', help: 'h', labelNames: ['server', 'state', 'era'] as const };
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    new ScrapedCounter({ ...config, registers: [registry] }, (emit) => round.forEach(({ labels, value }) => emit(labels, value)));
    const own = new Registry<OpenMetricsContentType>();
    own.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const counter = new Counter({ ...config, registers: [own] });
    for (const { labels, value } of round) counter.inc(labels, value);
    const text = await registry.metrics();
    expect(text).toContain('x_series_total{server="a",state="healthy",era="modern"} 1');
    expect(text).toBe(await own.metrics());
    expect(await registry.metrics()).toBe(await own.metrics());
  });
});
