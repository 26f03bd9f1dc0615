// The metrics' registry (src/observe/fleet-registry.ts) gives a scraped metric's kept text while
// its series stay the same. Whatever it keeps, it must write what prom-client's own registry
// writes for the same metrics at that moment: compared scrape after scrape while series move,
// around reads that bypass it, and when its default labels change.
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import type { OpenMetricsContentType } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { FleetRegistry } from '../../../src/observe/fleet-registry.js';
import { ScrapedCounter, ScrapedGauge } from '../../../src/observe/scraped.js';
import type { FormatMetric } from '../../../src/observe/scraped.js';

interface Fleet {
  states: Map<string, string>;
  restarts: Map<string, number>;
}

function setUp(fleet: Fleet) {
  const registry = new FleetRegistry();
  const registers = [registry];
  const state = new ScrapedGauge({ name: 'x_state', help: 'state', labelNames: ['server', 'state'] as const, registers }, (emit) => {
    for (const [server, value] of fleet.states) emit({ server, state: value }, 1);
  });
  new ScrapedCounter({ name: 'x_restarts_total', help: 'restarts', labelNames: ['server'] as const, registers }, (emit) => {
    for (const [server, value] of fleet.restarts) emit({ server }, value);
  });
  const calls = new Counter({ name: 'x_calls_total', help: 'calls', labelNames: ['outcome'] as const, registers });
  const latency = new Histogram({ name: 'x_latency_seconds', help: 'latency', buckets: [0.1, 1], registers });
  return { registry, state, calls, latency };
}

/** What prom-client's own registry writes for the same metric objects, with these default labels. */
/** Counts the metrics the registry formats: with prom-client's one-metric method, left out of its types. */
function formatsOf(registry: FleetRegistry) {
  return vi.spyOn(registry as unknown as { getMetricsAsString: FormatMetric }, 'getMetricsAsString');
}

async function reference(registry: FleetRegistry, defaults?: object, openMetrics = false): Promise<string> {
  const plain = new Registry<OpenMetricsContentType>();
  if (openMetrics) plain.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  if (defaults) plain.setDefaultLabels(defaults);
  for (const metric of registry.getMetricsAsArray()) plain.registerMetric(metric as never);
  return plain.metrics();
}

describe('the fleet registry', () => {
  it('writes what prom-client writes while series stay, move, go and come back', async () => {
    const fleet: Fleet = { states: new Map([['a', 'healthy'], ['b', 'degraded']]), restarts: new Map([['a', 0]]) };
    const { registry, calls, latency } = setUp(fleet);
    const scrape = async () => {
      const ours = await registry.metrics();
      expect(ours).toBe(await reference(registry));
      return ours;
    };
    const first = await scrape();
    expect(first).toContain('x_state{server="b",state="degraded"} 1');
    expect(await scrape()).toBe(first);
    fleet.states.set('b', 'healthy');
    expect(await scrape()).toContain('x_state{server="b",state="healthy"} 1');
    fleet.restarts.set('a', 1);
    calls.inc({ outcome: 'ok' });
    latency.observe(0.5);
    const moved = await scrape();
    expect(moved).toContain('x_restarts_total{server="a"} 1');
    expect(moved).toContain('x_calls_total{outcome="ok"} 1');
    fleet.states.delete('a');
    expect(await scrape()).not.toContain('server="a",state=');
    fleet.states.set('a', 'healthy');
    fleet.states.set('c', 'zombie');
    await scrape();
    fleet.states.clear();
    fleet.restarts.clear();
    expect(await scrape()).toContain('# TYPE x_state gauge\n\n');
  });

  it('does not format a scraped metric again while its series stay, and does when one moves', async () => {
    const fleet: Fleet = { states: new Map([['a', 'healthy']]), restarts: new Map([['a', 1]]) };
    const { registry } = setUp(fleet);
    const formatted = formatsOf(registry);
    await registry.metrics();
    expect(formatted).toHaveBeenCalledTimes(4);
    await registry.metrics();
    await registry.metrics();
    // The two ordinary metrics each time; the two scraped ones were kept.
    expect(formatted).toHaveBeenCalledTimes(8);
    fleet.states.set('a', 'reconnecting');
    expect(await registry.metrics()).toContain('x_state{server="a",state="reconnecting"} 1');
    expect(formatted).toHaveBeenCalledTimes(11);
  });

  it('never gives a text kept from before a read that went around it', async () => {
    const fleet: Fleet = { states: new Map([['a', 'healthy']]), restarts: new Map() };
    const { registry } = setUp(fleet);
    await registry.metrics();
    fleet.states.set('a', 'zombie');
    // JSON and a merged registry read the series without it: the next scrape must still see the move.
    expect(JSON.stringify(await registry.getMetricsAsJSON())).toContain('"zombie"');
    expect(await Registry.merge([registry]).metrics()).toContain('state="zombie"');
    const text = await registry.metrics();
    expect(text).toContain('x_state{server="a",state="zombie"} 1');
    expect(text).toBe(await reference(registry));
  });

  it('writes default labels set after a text was kept', async () => {
    const fleet: Fleet = { states: new Map([['a', 'healthy']]), restarts: new Map([['a', 2]]) };
    const { registry } = setUp(fleet);
    await registry.metrics();
    registry.setDefaultLabels({ instance: 'i1' });
    const text = await registry.metrics();
    expect(text).toContain('x_state{instance="i1",server="a",state="healthy"} 1');
    expect(text).toBe(await reference(registry, { instance: 'i1' }));
    registry.setDefaultLabels({});
    expect(await registry.metrics()).toBe(await reference(registry));
  });
  it('writes OpenMetrics as prom-client does, and Prometheus text again after it', async () => {
    const fleet: Fleet = { states: new Map([['a', 'healthy']]), restarts: new Map([['a', 2]]) };
    const { registry, calls } = setUp(fleet);
    calls.inc({ outcome: 'ok' });
    await registry.metrics();
    const open = registry as unknown as Registry<OpenMetricsContentType>;
    open.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    // prom-client renames counters on the metric objects as it writes OpenMetrics (x_calls_total → x_calls).
    const openText = await registry.metrics();
    expect(openText).toContain('x_restarts_total{server="a"} 2');
    expect(openText).toBe(await reference(registry, undefined, true));
    registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE);
    // The renamed counters keep their new names (prom-client's own registry writes them so too);
    // finding them under their old ones failed the whole scrape before.
    const text = await registry.metrics();
    expect(text).toContain('x_calls{outcome="ok"} 1');
    expect(text).toBe(await reference(registry));
  });

  it('keeps the text of a metric with two series per server, and lets a removed server go', async () => {
    const resources = new Map([['a', { memory: 1, cpu: 2 }], ['b', { memory: 0, cpu: 0 }]]);
    const registry = new FleetRegistry();
    new ScrapedCounter({ name: 'x_resource_restarts_total', help: 'h', labelNames: ['server', 'resource'] as const, registers: [registry] }, (emit) => {
      for (const [server, { memory, cpu }] of resources) {
        emit({ server, resource: 'memory' }, memory);
        emit({ server, resource: 'cpu' }, cpu);
      }
    });
    const formatted = formatsOf(registry);
    const first = await registry.metrics();
    expect(await registry.metrics()).toBe(first);
    expect(formatted).toHaveBeenCalledTimes(1);
    resources.delete('a');
    const text = await registry.metrics();
    expect(text).not.toContain('server="a"');
    expect(text).toBe(await reference(registry));
    resources.set('b', { memory: 0, cpu: 3 });
    expect(await registry.metrics()).toContain('x_resource_restarts_total{server="b",resource="cpu"} 3');
  });

  it('keeps the text of a series whose value is NaN, and writes it as prom-client does', async () => {
    const registry = new FleetRegistry();
    new ScrapedGauge({ name: 'x_ratio', help: 'h', labelNames: ['server'] as const, registers: [registry] }, (emit) => emit({ server: 'a' }, Number.NaN));
    const formatted = formatsOf(registry);
    const text = await registry.metrics();
    expect(text).toBe(await reference(registry));
    expect(await registry.metrics()).toBe(text);
    expect(formatted).toHaveBeenCalledTimes(1);
  });

  it('writes the default labels as they were set, though the caller changes its object after', async () => {
    const fleet: Fleet = { states: new Map([['a', 'healthy']]), restarts: new Map() };
    const { registry } = setUp(fleet);
    const labels = { env: 'one' };
    registry.setDefaultLabels(labels);
    await registry.metrics();
    labels.env = 'two';
    const text = await registry.metrics();
    expect(text).toContain('x_state{env="one",server="a",state="healthy"} 1');
    expect(text).toBe(await reference(registry, { env: 'one' }));
  });

  it('gives no text kept for one registry to another that holds the same metric', async () => {
    const states = new Map([['a', 'healthy']]);
    const one = new FleetRegistry();
    const two = new FleetRegistry();
    one.setDefaultLabels({ env: 'one' });
    two.setDefaultLabels({ env: 'two' });
    new ScrapedGauge({ name: 'x_state', help: 'h', labelNames: ['server', 'state'] as const, registers: [one, two] }, (emit) => {
      for (const [server, state] of states) emit({ server, state }, 1);
    });
    expect(await one.metrics()).toContain('env="one"');
    expect(await two.metrics()).toContain('env="two"');
    expect(await one.metrics()).toBe(await reference(one, { env: 'one' }));
  });
  it('gives no kept text under a name another registry has since changed', async () => {
    const fleet: Fleet = { states: new Map([['a', 'healthy']]), restarts: new Map([['a', 2]]) };
    const { registry } = setUp(fleet);
    await registry.metrics();
    // A registry of the caller's, writing OpenMetrics, renames counters on the shared metric objects.
    const open = new Registry<OpenMetricsContentType>();
    open.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    for (const metric of registry.getMetricsAsArray()) open.registerMetric(metric as never);
    await open.metrics();
    const text = await registry.metrics();
    expect(text).toContain('x_restarts{server="a"} 2');
    expect(text).toBe(await reference(registry));
  });
  it('writes what prom-client writes over any run of scrapes: series per server growing and shrinking, servers coming and going, NaN, default labels, reads around it', async () => {
    const series = fc.record({
      server: fc.constantFrom('a', 'b', 'c'),
      resource: fc.constantFrom('memory', 'cpu'),
      value: fc.constantFrom(0, 1, 2, Number.NaN, -0),
      // The order a reader hands the labels in may differ from one scrape to the next.
      serverFirst: fc.boolean(),
    });
    const step = fc.record({
      series: fc.array(series, { maxLength: 6 }),
      defaults: fc.option(fc.constantFrom({}, { env: 'one' }, { env: 'two' }), { nil: undefined }),
      readAround: fc.constantFrom('none', 'json', 'merged'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const registry = new FleetRegistry();
        let now: Array<{ server: string; resource: string; value: number; serverFirst: boolean }> = [];
        let defaults: object | undefined;
        const counter = new ScrapedCounter({ name: 'x_resource_restarts_total', help: 'h', labelNames: ['server', 'resource'] as const, registers: [registry] }, (emit) => {
          for (const { server, resource, value, serverFirst } of now) emit(serverFirst ? { server, resource } : { resource, server }, value);
        });
        for (const { series: next, defaults: set, readAround } of steps) {
          now = next;
          const before = (await counter.getForPromString()).values;
          if (set !== undefined) {
            registry.setDefaultLabels(set);
            defaults = set;
          }
          if (readAround === 'json') await registry.getMetricsAsJSON();
          if (readAround === 'merged') await Registry.merge([registry]).metrics();
          expect(await registry.metrics()).toBe(await reference(registry, defaults));
          // The same series read again are the same objects (what a kept text is compared by),
          // and JSON says every series with every label, checked without prom-client's formatting.
          const after = (await counter.getForPromString()).values;
          before.forEach((series, index) => expect(after[index]).toBe(series));
          const json = (await registry.getMetricsAsJSON()).find((metric) => metric.name === 'x_resource_restarts_total');
          expect(json?.values).toEqual(now.map(({ server, resource, value }) => ({ value, labels: { ...defaults, server, resource } })));
        }
      }),
      { numRuns: 200 },
    );
  });
});
