// A real Prometheus (Debian's `prometheus` package: /usr/bin/prometheus and /usr/bin/promtool) for
// the shipped rules and dashboard: one server on a loopback port the OS handed out, a data directory
// of its own, reaped by stop(). `.ci/run` installs the package when it is missing. Also the metric
// names of the contract (a real render of createMetrics) and the metric names a PromQL expression
// uses (Prometheus' own lezer grammar), so a typo in a rule or a panel fails a test.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parser } from '@prometheus-io/lezer-promql';
import { Supervisor } from '../../src/fleet/supervisor.js';
import { createMetrics } from '../../src/observe/metrics.js';
import { SinkHealth } from '../../src/observe/file-sink.js';
import { freePort } from './ports.js';
import { waitUntil } from './wait.js';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';

const INSTALL = 'install it with "apt-get update && apt-get install -y prometheus" (.ci/run does this)';

/**
 * Why the Prometheus tests cannot run here, or undefined when they can. Outside CI a missing
 * package skips them (with this reason in the skipped suite's name); in CI (`CI` set) it never
 * does: the tests run and fail on {@link requirePrometheus}'s error.
 */
export function prometheusSkipReason(): string | undefined {
  if (existsSync(PROMETHEUS) && existsSync(PROMTOOL)) return undefined;
  if (process.env.CI) return undefined;
  return `skipped: no ${PROMETHEUS} / ${PROMTOOL} on this machine; ${INSTALL}`;
}

/** Throws a clear error when Prometheus is not installed. */
function requirePrometheus(): void {
  for (const binary of [PROMETHEUS, PROMTOOL]) if (!existsSync(binary)) throw new Error(`this needs ${binary}: ${INSTALL}`);
}

/** Runs promtool; resolves with its output whatever its exit code. */
export async function promtool(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  requirePrometheus();
  try {
    const { stdout, stderr } = await promisify(execFile)(PROMTOOL, args, { cwd, timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` || failed.message };
  }
}

/** A running Prometheus. */
export interface Prometheus {
  /** Its HTTP API, `http://127.0.0.1:<port>`. */
  url: string;
  /** The prometheus process. */
  child: ChildProcess;
  /** `GET /api/v1/<path>`'s `data`; throws with Prometheus' error when the status is not success. */
  api<T>(path: string, params?: Record<string, string>): Promise<T>;
  /** Kills it and removes its directory. */
  stop(): Promise<void>;
  /** What it wrote on stderr (the last few KiB), for failure messages. */
  log(): string;
}

/**
 * Starts Prometheus with `config` (prometheus.yml as YAML text) and `files` written next to it
 * (rule files the config names, relative to its directory), and waits until `/-/ready` (bounded).
 */
export async function startPrometheus(config: string, files: Record<string, string> = {}): Promise<Prometheus> {
  requirePrometheus();
  const dir = await mkdtemp(join(tmpdir(), 'mcp-supervisor-prometheus-'));
  await writeFile(join(dir, 'prometheus.yml'), config);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 10_000))]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitUntil(
      async () => {
        try {
          return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) })).ok;
        } catch {
          return false; // not listening yet
        }
      },
      30_000,
      () => `Prometheus never became ready:\n${output}`,
      exited,
      50,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url,
    child,
    async api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
      const response = await fetch(`${url}/api/v1/${path}?${new URLSearchParams(params).toString()}`, { signal: AbortSignal.timeout(10_000) });
      const body = (await response.json()) as { status: string; data: T; errorType?: string; error?: string };
      if (body.status !== 'success') throw new Error(`Prometheus ${path} ${JSON.stringify(params)}: ${body.errorType}: ${body.error}`);
      return body.data;
    },
    stop,
    log: () => output,
  };
}

/**
 * Every series name `/metrics` can hold, from a real render of {@link createMetrics} (cluster
 * metrics and Node's default metrics included): each family declared by `# TYPE`, with
 * `_bucket`/`_sum`/`_count` for histograms and `_sum`/`_count` for summaries. Families whose
 * series come and go (quarantine, tool calls, limits) are declared even with no series.
 */
export async function contractMetricNames(): Promise<Set<string>> {
  const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: [] });
  // The service's options: cluster metrics and the file sinks' health.
  const metrics = createMetrics(supervisor, { cluster: { status: 'member', heldIds: () => [] }, sinks: new SinkHealth() });
  try {
    const names = new Set<string>();
    for (const [, name, type] of (await metrics.render()).matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      names.add(name!);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
      if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
    }
    return names;
  } finally {
    metrics.close();
    await supervisor.stop();
  }
}

/** Series Prometheus itself writes, which rules and panels may read. */
export const PROMETHEUS_SERIES: ReadonlySet<string> = new Set(['up', 'ALERTS', 'ALERTS_FOR_STATE']);

/**
 * Grafana's variables replaced by values Prometheus accepts: `$__rate_interval` and friends by a
 * duration, `$job`-style ones (inside label matchers) by a regex matching everything.
 */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, '5m').replace(/\$\{?\w+\}?/g, '.*');
}

/**
 * The metric names an expression selects, from Prometheus' own grammar; throws naming the
 * position when the expression does not parse (after {@link withoutGrafanaVariables}).
 */
export function metricNamesOf(expr: string): string[] {
  const text = withoutGrafanaVariables(expr);
  const names: string[] = [];
  let error: number | undefined;
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError) error ??= node.from;
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.push(text.slice(node.from, node.to));
    },
  });
  if (error !== undefined) throw new Error(`PromQL does not parse at ${error}: ${text.slice(0, error)} ⟨here⟩ ${text.slice(error)}`);
  return names;
}

interface DashboardPanel {
  title: string;
  targets?: Array<{ expr: string }>;
  panels?: DashboardPanel[];
}

/** Every PromQL expression of a Grafana dashboard (panel targets, and the selectors of `label_values` variables), named by where it is. */
export async function dashboardExpressions(path: string): Promise<Array<{ where: string; expr: string }>> {
  const dashboard = JSON.parse(await readFile(path, 'utf8')) as { panels: DashboardPanel[]; templating: { list: Array<{ name: string; type: string; query: unknown }> } };
  const found: Array<{ where: string; expr: string }> = [];
  const visit = (panels: DashboardPanel[]): void => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) found.push({ where: `panel "${panel.title}"`, expr: target.expr });
      visit(panel.panels ?? []);
    }
  };
  visit(dashboard.panels);
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : (variable.query as { query: string }).query;
    // label_values(<selector>, <label>): the selector is PromQL.
    const selector = /^label_values\((.*),\s*\w+\)$/.exec(query)?.[1];
    if (!selector) throw new Error(`variable ${variable.name}: not label_values(selector, label): ${query}`);
    found.push({ where: `variable $${variable.name}`, expr: selector });
  }
  return found;
}
