// A real Prometheus (Debian's package) scraping a real `mcp-supervisor` service every second, with
// the shipped rules: a stdio server is SIGSTOPped, the service finds it a zombie and replaces it, and
// Prometheus' HTTP API shows MCPServerZombie go pending, then firing. The one change to the shipped
// rules is the zombie alert's `for:` (10m → 3s, in a temp copy), so the test takes seconds.
// Every dashboard expression is also run here, against live data.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { FAST_HEALTH, killAllClis, startCli, waitUntil } from '../support/cli.js';
import type { Cli } from '../support/cli.js';
import { describePids, isAlive, waitForExit, waitForNoDescendants, waitForState } from '../support/processes.js';
import { dashboardExpressions, prometheusSkipReason, startPrometheus, withoutGrafanaVariables } from '../support/prometheus.js';
import type { Prometheus } from '../support/prometheus.js';

const rulesPath = fileURLToPath(new URL('../../deploy/prometheus/rules.yml', import.meta.url));
const dashboardPath = fileURLToPath(new URL('../../deploy/grafana/mcp-supervisor.json', import.meta.url));

/** The zombie alert's `for:` in the test's copy of the rules (the shipped one is 10m). */
const ZOMBIE_FOR_SECONDS = 3;

interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
  activeAt: string;
}

interface RuleGroups {
  groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string; lastEvaluation: string }> }>;
}

/** The shipped rules with MCPServerZombie's `for:` shortened; everything else as shipped. */
async function rulesForTest(): Promise<string> {
  const rules = parse(await readFile(rulesPath, 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; for?: string }> }> };
  const zombie = rules.groups.flatMap((group) => group.rules).find((rule) => rule.alert === 'MCPServerZombie');
  if (!zombie) throw new Error('rules.yml has no MCPServerZombie');
  zombie.for = `${ZOMBIE_FOR_SECONDS}s`;
  return stringify(rules);
}

const skip = prometheusSkipReason();

describe.skipIf(skip !== undefined)(`a real Prometheus scraping the service with the shipped rules${skip ? ` (${skip})` : ''}`, () => {
  let dir: string;
  let cli: Cli;
  let prometheus: Prometheus | undefined;
  /** The SIGSTOPped server process, to SIGCONT whatever happens. */
  let stopped: number | undefined;

  const actor = async (id: string): Promise<{ state: string; pid: number | undefined }> => {
    const response = await fetch(`${cli.url}/actors/${id}`, { signal: AbortSignal.timeout(5_000) });
    const body = (await response.json()) as { state: string; snapshot: { context: { session: { pid?: number } | null } } };
    return { state: body.state, pid: body.snapshot.context.session?.pid };
  };

  const zombieAlerts = async (): Promise<Alert[]> =>
    (await prometheus!.api<{ alerts: Alert[] }>('alerts')).alerts.filter((alert) => alert.labels.alertname === 'MCPServerZombie');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcp-supervisor-prom-e2e-'));
    const configPath = join(dir, 'mcp.json');
    const stdio = { command: process.execPath, args: [fixtureServerPath, 'stdio'] };
    await writeFile(
      configPath,
      JSON.stringify({ supervisor: { health: FAST_HEALTH }, mcpServers: { files: stdio, spare: { ...stdio, required: false } } }, null, 2),
    );
    cli = await startCli(['--config', configPath, '--port', '0']);
    const target = new URL(cli.url).host;
    prometheus = await startPrometheus(
      stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        rule_files: ['rules.yml'],
        scrape_configs: [{ job_name: 'mcp-supervisor', static_configs: [{ targets: [target] }] }],
      }),
      { 'rules.yml': await rulesForTest() },
    );
  });

  afterAll(async () => {
    if (stopped !== undefined && isAlive(stopped)) process.kill(stopped, 'SIGCONT');
    if (cli && cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGTERM');
      const exited = await Promise.race([cli.exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 15_000))]);
      if (!exited) killAllClis();
    }
    await prometheus?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    const left = await waitForNoDescendants(10_000);
    expect(left, describePids(left)).toEqual([]);
  });

  it('scrapes the service, and every rule evaluates without error', async () => {
    await waitUntil(
      async () => {
        const result = await prometheus!.api<{ result: unknown[] }>('query', { query: 'mcp_connection_state{job="mcp-supervisor",server="files",state="healthy"} == 1' });
        return result.result.length === 1;
      },
      30_000,
      () => `Prometheus never saw files healthy; Prometheus log:\n${prometheus!.log()}\nservice stderr:\n${cli.stderr()}`,
      undefined,
      100,
    );
    const info = await prometheus!.api<{ result: Array<{ metric: Record<string, string> }> }>('query', { query: 'mcp_connection_info{job="mcp-supervisor"}' });
    expect(Object.fromEntries(info.result.map(({ metric }) => [metric.server, metric.required]))).toEqual({ files: 'true', spare: 'false' });

    const evaluated = await waitUntil(
      async () => {
        const { groups } = await prometheus!.api<RuleGroups>('rules');
        const rules = groups.flatMap((group) => group.rules);
        return rules.length > 0 && rules.every((rule) => !rule.lastEvaluation.startsWith('0001')) ? rules : undefined;
      },
      15_000,
      () => 'the rules were never all evaluated',
      undefined,
      100,
    );
    expect(evaluated.length).toBe((parse(await readFile(rulesPath, 'utf8')) as { groups: Array<{ rules: unknown[] }> }).groups.flatMap((group) => group.rules).length);
    expect(evaluated.filter((rule) => rule.health !== 'ok').map((rule) => `${rule.name}: ${rule.health} ${rule.lastError ?? ''}`)).toEqual([]);

    // The recording rules, from the next evaluation on.
    const ratio = async (): Promise<number[]> =>
      (await prometheus!.api<{ result: Array<{ value: [number, string] }> }>('query', { query: 'job:mcp_required_servers_serving:ratio{job="mcp-supervisor"}' })).result.map(
        (sample) => Number(sample.value[1]),
      );
    await waitUntil(async () => (await ratio()).length > 0, 10_000, () => 'job:mcp_required_servers_serving:ratio was never recorded', undefined, 100);
    expect(await ratio()).toEqual([1]);
    expect(await zombieAlerts()).toEqual([]);
  });

  it('runs every dashboard expression without error', async () => {
    const problems: string[] = [];
    const expressions = await dashboardExpressions(dashboardPath);
    for (const { where, expr } of expressions) {
      try {
        await prometheus!.api('query', { query: withoutGrafanaVariables(expr) });
      } catch (error) {
        problems.push(`${where}: ${(error as Error).message}`);
      }
    }
    expect(problems).toEqual([]);

    // The state timeline maps each server's state to one number (1 = healthy, its value mappings).
    const timeline = expressions.find((each) => each.where === 'panel "State per server"')!;
    const codes = await prometheus!.api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>('query', { query: withoutGrafanaVariables(timeline.expr) });
    expect(Object.fromEntries(codes.result.map(({ metric, value }) => [metric.server, value[1]]))).toEqual({ files: '1', spare: '1' });
  });

  it('SIGSTOP a server: the service finds it a zombie and replaces it; MCPServerZombie goes pending, then firing', async () => {
    const before = await actor('files');
    expect(before.state).toBe('healthy');
    const pid = before.pid!;
    expect(pid).toBeTypeOf('number');
    stopped = pid;
    process.kill(pid, 'SIGSTOP');
    expect(await waitForState(pid, 'T', 2_000)).toBe(true);

    // The service tears the zombie down (close stdin, SIGTERM + SIGCONT, SIGKILL) and starts a new process.
    expect(await waitForExit(pid, 20_000), `the stopped server ${pid} was never ended`).toBe(true);
    await waitUntil(
      async () => {
        const now = await actor('files');
        return now.state === 'healthy' && now.pid !== pid;
      },
      20_000,
      () => 'files never came back healthy with a new process',
      cli.exited,
      50,
    );

    // Prometheus: pending first (watched every 100 ms, the alert's `for:` is 3 s), then firing.
    const seen: string[] = [];
    const pending = await waitUntil(
      async () => {
        const alert = (await zombieAlerts()).find((each) => each.labels.server === 'files');
        if (alert && seen.at(-1) !== alert.state) seen.push(alert.state);
        return alert?.state === 'pending' ? alert : undefined;
      },
      20_000,
      () => `MCPServerZombie never went pending for files; states seen: ${JSON.stringify(seen)}; Prometheus log:\n${prometheus!.log()}`,
      undefined,
      100,
    );
    expect(seen).toEqual(['pending']);
    expect(pending.labels).toMatchObject({ alertname: 'MCPServerZombie', job: 'mcp-supervisor', server: 'files', severity: 'warning' });
    const firing = await waitUntil(
      async () => {
        const alert = (await zombieAlerts()).find((each) => each.labels.server === 'files');
        if (alert && seen.at(-1) !== alert.state) seen.push(alert.state);
        return alert?.state === 'firing' ? alert : undefined;
      },
      (ZOMBIE_FOR_SECONDS + 15) * 1_000,
      () => `MCPServerZombie never fired for files; states seen: ${JSON.stringify(seen)}`,
      undefined,
      100,
    );
    expect(seen).toEqual(['pending', 'firing']);
    // Firing only once `for:` has passed since it went active.
    expect(Date.now() - Date.parse(firing.activeAt)).toBeGreaterThanOrEqual(ZOMBIE_FOR_SECONDS * 1_000);
    expect(firing.activeAt).toBe(pending.activeAt);

    const zombies = await prometheus!.api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>('query', { query: 'mcp_zombies_total{job="mcp-supervisor"}' });
    expect(zombies.result.map(({ metric, value }) => [metric.server, Number(value[1])])).toEqual([['files', 1]]);
    // Only the server that hung.
    expect((await zombieAlerts()).map((alert) => alert.labels.server)).toEqual(['files']);
  });
});
