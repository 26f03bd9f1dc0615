// The shipped Prometheus rules (deploy/prometheus/rules.yml): valid for promtool, their unit tests
// (rules.test.yml: every alert's pending → firing timing, every recording rule) pass, and every
// metric they read exists in the metrics contract.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { contractMetricNames, metricNamesOf, prometheusSkipReason, PROMETHEUS_SERIES, promtool } from '../support/prometheus.js';

const deploy = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

async function rules(): Promise<Rule[]> {
  const file = parse(await readFile(`${deploy}rules.yml`, 'utf8')) as { groups: Array<{ rules: Rule[] }> };
  return file.groups.flatMap((group) => group.rules);
}

const skip = prometheusSkipReason();

describe.skipIf(skip !== undefined)(`promtool on deploy/prometheus${skip ? ` (${skip})` : ''}`, () => {
  it('promtool check rules: valid', async () => {
    const { code, output } = await promtool(['check', 'rules', 'rules.yml'], deploy);
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
    expect(code, output).toBe(0);
  });

  it('promtool test rules: every unit test passes', async () => {
    const { code, output } = await promtool(['test', 'rules', 'rules.test.yml'], deploy);
    expect(code, output).toBe(0);
    expect(output).toMatch(/SUCCESS/);
  });
});

describe('deploy/prometheus/rules.yml', () => {
  it('reads only metrics of the contract (and its own recording rules)', async () => {
    const all = await rules();
    const known = new Set([...(await contractMetricNames()), ...PROMETHEUS_SERIES, ...all.flatMap((rule) => (rule.record ? [rule.record] : []))]);
    const unknown = all.flatMap((rule) => metricNamesOf(rule.expr).filter((name) => !known.has(name)).map((name) => `${rule.alert ?? rule.record}: ${name}`));
    expect(unknown).toEqual([]);
  });

  it('has every alert of the issue, each with a severity, a summary and a description, and a unit test', async () => {
    const alerts = (await rules()).filter((rule) => rule.alert !== undefined);
    expect(alerts.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining([
        'MCPServerFailed',
        'MCPServerDown',
        'MCPServerZombie',
        'MCPServerFlapping',
        'MCPPanicMode',
        'MCPRequiredServerUnhealthy',
        'MCPServerMemoryOverLimit',
        'MCPClusterRegistryUnreachable',
      ]),
    );
    const tests = await readFile(`${deploy}rules.test.yml`, 'utf8');
    for (const rule of alerts) {
      expect(['critical', 'warning', 'info'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      expect(tests, `no unit test fires ${rule.alert}`).toContain(`alertname: ${rule.alert}\n`);
    }
    for (const rule of (await rules()).filter((each) => each.record !== undefined)) expect(tests, `no unit test of ${rule.record}`).toContain(`expr: ${rule.record}\n`);
  });

  it('a typo in a metric name is caught', () => {
    expect(metricNamesOf('sum by (state) (mcp_conections{job=~"$job"})')).toEqual(['mcp_conections']);
    expect(() => metricNamesOf('sum by (state) (mcp_connections{job=~"$job"}')).toThrow(/does not parse/);
  });
});
