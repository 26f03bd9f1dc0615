// Cluster failover with real instances of the CLI on a real etcd: SIGKILL of the instance that
// holds the most servers, then all healthy on the survivor (against the bound lease TTL +
// connect time); and an instance frozen (SIGSTOP) past its lease, whose servers are taken over
// while its own processes still run: how long two processes exist for one server.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { startEtcd } from '../../test/support/etcd.js';
import { killAllClis, startCli } from '../../test/support/cli.js';
import type { Cli } from '../../test/support/cli.js';
import { round } from '../harness.js';
import type { Row, Scenario } from '../harness.js';

const fixture = fileURLToPath(new URL('../../fixtures/fixture-server.mjs', import.meta.url));
const SERVERS = 10;
const LEASE_TTL_S = 3;
const HEALTH = { connectTimeoutMs: 5_000, pingTimeoutMs: 1_000, healthyIntervalMs: 500, stableIntervalMs: 1_000, initialBackoffMs: 50, maxBackoffMs: 300 };

/** Our server processes now, by server id (tagged through their environment). */
function processes(tag: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const vars = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (!vars.includes(`BENCH_TAG=${tag}`) || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const id = vars.find((entry) => entry.startsWith('BENCH_SERVER='))?.slice('BENCH_SERVER='.length);
      if (id !== undefined) found.set(id, (found.get(id) ?? 0) + 1);
    } catch {
      // gone, or not ours
    }
  }
  return found;
}

async function healthyOwned(cli: Cli, name: string): Promise<string[]> {
  const response = await fetch(`${cli.url}/actors`, { signal: AbortSignal.timeout(5_000) });
  const { actors } = (await response.json()) as { actors: Array<{ id: string; state: string; owner?: string }> };
  return actors.filter((actor) => actor.owner === name && actor.state === 'healthy').map((actor) => actor.id);
}

async function poll<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const scenario: Scenario = {
  name: `cluster failover: ${SERVERS} stdio servers, two CLI instances, lease ${LEASE_TTL_S} s, real etcd`,
  async run(): Promise<Row[]> {
    const etcd = await startEtcd();
    const client = new Etcd3({ hosts: etcd.url });
    const dir = await mkdtemp(join(tmpdir(), 'mcp-supervisor-bench-cluster-'));
    const tag = randomBytes(6).toString('hex');
    const ids = Array.from({ length: SERVERS }, (_, index) => `f${index}`);
    try {
      const config = join(dir, 'mcp.json');
      await writeFile(config, `${JSON.stringify({ supervisor: { health: HEALTH }, mcpServers: {} })}\n`);
      const start = (name: string) => startCli(['--config', config, '--port', '0', '--etcd', etcd.url, '--instance', name, '--lease-ttl', String(LEASE_TTL_S), '--log-level', 'warn']);
      const cliRounds: Row[] = [];

      // Round 1: SIGKILL.
      let [a, b] = await Promise.all([start('a'), start('b')]);
      for (const id of ids) await client.put(`/mcp-supervisor/servers/${id}`).value(JSON.stringify({ command: process.execPath, args: [fixture, 'stdio'], env: { BENCH_TAG: tag, BENCH_SERVER: id } }));
      const whole = async (clis: Array<[Cli, string]>): Promise<Map<string, string[]> | undefined> => {
        const owned = new Map<string, string[]>();
        for (const [cli, name] of clis) owned.set(name, await healthyOwned(cli, name));
        const all = [...owned.values()].flat();
        return all.length === SERVERS && new Set(all).size === SERVERS ? owned : undefined;
      };
      const before = await poll(() => whole([[a, 'a'], [b, 'b']]), 30_000, 'the fleet never became healthy');
      const [victim, victimName, survivor, survivorName] = (before.get('a')?.length ?? 0) >= (before.get('b')?.length ?? 0) ? [a, 'a', b, 'b'] : [b, 'b', a, 'a'];
      const moved = before.get(victimName)?.length ?? 0;
      victim.child.kill('SIGKILL');
      const killedAt = performance.now();
      let doubled = 0;
      await poll(async () => {
        for (const count of processes(tag).values()) if (count > 1) doubled += 1;
        return (await whole([[survivor, survivorName]])) ? true : undefined;
      }, LEASE_TTL_S * 1_000 + 30_000, 'the survivor never held the whole fleet');
      const failoverMs = performance.now() - killedAt;
      cliRounds.push(
        { scenario: `cluster failover: SIGKILL of the instance holding ${moved} of ${SERVERS}`, metric: 'all healthy on the survivor', value: round(failoverMs, 0), unit: 'ms', bound: `lease ${LEASE_TTL_S * 1_000} ms + connect`, note: 'the lease lapses, the survivor sees the deletes, claims and connects' },
        { scenario: `cluster failover: SIGKILL of the instance holding ${moved} of ${SERVERS}`, metric: 'samples with two processes for one server', value: doubled, unit: '', bound: '0' },
      );

      // Round 2: SIGSTOP past the lease, then SIGCONT.
      a = survivor;
      b = await start(victimName);
      const spread = await poll(() => whole([[a, survivorName], [b, victimName]]), 30_000, 'the fleet never spread over two instances again');
      const frozenName = (spread.get(victimName)?.length ?? 0) > 0 ? victimName : survivorName;
      const frozen = frozenName === victimName ? b : a;
      const other = frozen === a ? b : a;
      const otherName = frozen === a ? victimName : survivorName;
      frozen.child.kill('SIGSTOP');
      const frozenAt = performance.now();
      // Taken over by the other: from then on, two processes run for the frozen one's servers.
      await poll(async () => ((await whole([[other, otherName]])) ? true : undefined), LEASE_TTL_S * 1_000 + 30_000, 'the frozen instance\'s servers were not taken over');
      const takenOverAt = performance.now();
      frozen.child.kill('SIGCONT');
      const wokeAt = performance.now();
      await poll(() => ([...processes(tag).values()].every((count) => count === 1) ? true : undefined), 10_000, 'duplicates did not end after the wake');
      const endedAt = performance.now();
      cliRounds.push(
        { scenario: `cluster: an instance frozen past its ${LEASE_TTL_S} s lease`, metric: 'frozen → taken over', value: round(takenOverAt - frozenAt, 0), unit: 'ms', note: 'its own processes still run meanwhile' },
        { scenario: `cluster: an instance frozen past its ${LEASE_TTL_S} s lease`, metric: 'woken → its duplicates ended', value: round(endedAt - wokeAt, 0), unit: 'ms', note: 'its clock shows the gap; it SIGKILLs its process groups first' },
      );

      // Round 3: a third instance joins a fleet of two; servers are handed to it a few per
      // second at most, each stopped where it was before it starts there.
      const claims: number[] = [];
      const watcher = await client.watch().prefix('/mcp-supervisor/owners/').create();
      watcher.on('put', (kv) => {
        if (kv.value.toString() === 'c') claims.push(performance.now());
      });
      await poll(() => ([...processes(tag).values()].every((count) => count === 1) ? true : undefined), 10_000, 'duplicates before the join');
      const joinedAt = performance.now();
      const c = await start('c');
      let doubledOnJoin = 0;
      await poll(async () => {
        for (const count of processes(tag).values()) if (count > 1) doubledOnJoin += 1;
        const all = await whole([[a, survivorName], [b, victimName], [c, 'c']]);
        return all && (all.get('c')?.length ?? 0) > 0 && performance.now() - (claims.at(-1) ?? 0) > 2_000 ? all : undefined;
      }, LEASE_TTL_S * 1_000 + 30_000, 'the joiner never took its share');
      await watcher.cancel();
      const perSecond = Math.max(0, ...claims.map((at) => claims.filter((other) => other >= at && other < at + 1_000).length));
      cliRounds.push(
        { scenario: 'cluster: a third instance joins two', metric: 'servers handed to it', value: claims.length, unit: '', note: `of ${SERVERS}` },
        { scenario: 'cluster: a third instance joins two', metric: 'start → its last server claimed', value: round((claims.at(-1) ?? joinedAt) - joinedAt, 0), unit: 'ms', note: `its start settle, then the others wait one lease (${LEASE_TTL_S} s) before handing over` },
        { scenario: 'cluster: a third instance joins two', metric: 'most claims in any second', value: perSecond, unit: '', bound: '≤ 20 per giving instance' },
        { scenario: 'cluster: a third instance joins two', metric: 'samples with two processes for one server', value: doubledOnJoin, unit: '', bound: '0' },
      );
      return cliRounds;
    } finally {
      killAllClis();
      client.close();
      await etcd.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
