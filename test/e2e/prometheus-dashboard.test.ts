// The shipped Grafana dashboard (deploy/grafana/mcp-supervisor.json): importable (datasource as the
// DS_PROMETHEUS input and variable, no fixed datasource uid), the panels the issue asks for, and
// every PromQL expression in it parses and reads only metrics of the contract. Each expression is
// also run against a real Prometheus in prometheus.test.ts.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { contractMetricNames, dashboardExpressions, metricNamesOf, PROMETHEUS_SERIES } from '../support/prometheus.js';

const dashboardPath = fileURLToPath(new URL('../../deploy/grafana/mcp-supervisor.json', import.meta.url));
const rulesPath = fileURLToPath(new URL('../../deploy/prometheus/rules.yml', import.meta.url));

interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; datasource?: { type: string; uid: string } }>;
  panels?: Panel[];
}

interface Dashboard {
  __inputs: Array<{ name: string; type: string; pluginId: string }>;
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown }> };
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

describe('deploy/grafana/mcp-supervisor.json', () => {
  it('is importable: the datasource is the DS_PROMETHEUS input and variable, never a fixed uid', async () => {
    const text = await readFile(dashboardPath, 'utf8');
    const dashboard = JSON.parse(text) as Dashboard;
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    expect(dashboard.templating.list.find((variable) => variable.name === 'DS_PROMETHEUS')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(dashboard.uid).toBe('mcp-supervisor');
    for (const panel of allPanels(dashboard.panels).filter((each) => each.type !== 'row')) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
      for (const target of panel.targets ?? []) expect(target.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
    }
    for (const uid of text.matchAll(/"uid": "([^"]*)"/g)) expect(['${DS_PROMETHEUS}', 'mcp-supervisor', '-- Grafana --']).toContain(uid[1]);
  });

  it('has the panels of the issue: fleet by state, state per server, latency, tool calls, reconnects, resources', async () => {
    const dashboard = JSON.parse(await readFile(dashboardPath, 'utf8')) as Dashboard;
    const panels = allPanels(dashboard.panels);
    const uses = (metric: string, type?: string): string[] =>
      panels.filter((panel) => (type === undefined || panel.type === type) && (panel.targets ?? []).some((target) => target.expr.includes(metric))).map((panel) => panel.title);
    expect(uses('mcp_connections', 'timeseries')).not.toEqual([]);
    expect(uses('mcp_connection_state', 'state-timeline')).not.toEqual([]);
    expect(uses('mcp_probe_duration_seconds_bucket')).not.toEqual([]);
    expect(uses('mcp_tool_call_duration_seconds_bucket')).not.toEqual([]);
    expect(uses('mcp_tool_calls_total')).not.toEqual([]);
    expect(uses('mcp_reconnect_attempts_total')).not.toEqual([]);
    expect(uses('mcp_process_cpu_ratio')).not.toEqual([]);
    expect(uses('mcp_process_resident_bytes')).not.toEqual([]);
  });

  it('reads only metrics of the contract, in expressions that parse', async () => {
    const rules = parse(await readFile(rulesPath, 'utf8')) as { groups: Array<{ rules: Array<{ record?: string }> }> };
    const recorded = rules.groups.flatMap((group) => group.rules.flatMap((rule) => (rule.record ? [rule.record] : [])));
    const known = new Set([...(await contractMetricNames()), ...PROMETHEUS_SERIES, ...recorded]);
    const expressions = await dashboardExpressions(dashboardPath);
    expect(expressions.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const { where, expr } of expressions) {
      try {
        const names = metricNamesOf(expr);
        if (names.length === 0) problems.push(`${where}: selects no metric: ${expr}`);
        for (const name of names) if (!known.has(name)) problems.push(`${where}: unknown metric ${name}`);
      } catch (error) {
        problems.push(`${where}: ${(error as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
