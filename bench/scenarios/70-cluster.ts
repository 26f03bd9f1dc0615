// Cluster mode: how soon a server registered in etcd is being connected, and how soon a
// deregistered one is stopped with its process reaped, next to what polling the registry every
// 30 s (the seed system's way) gives: on average half an interval, at worst a whole one.
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { createSupervisor } from '../../src/fleet/supervisor.js';
import { ClusterNode } from '../../src/fleet/cluster.js';
import { startEtcd } from '../../test/support/etcd.js';
import { percentile, round, until } from '../harness.js';
import type { Row, Scenario } from '../harness.js';

const fixture = fileURLToPath(new URL('../../fixtures/fixture-server.mjs', import.meta.url));
const ROUNDS = 30;
const POLL_INTERVAL_MS = 30_000;

export const scenario: Scenario = {
  name: 'cluster: etcd key put → connecting, key deleted → stopped and reaped (one instance, real etcd)',
  async run(): Promise<Row[]> {
    const etcd = await startEtcd();
    const client = new Etcd3({ hosts: etcd.url });
    const supervisor = createSupervisor({ maxConcurrentReconnects: 8, servers: [] });
    const node = new ClusterNode(supervisor, { etcd: [etcd.url], instance: 'bench', leaseTtlSeconds: 5 });
    const connectingAt = new Map<string, number>();
    const removedAt = new Map<string, number>();
    supervisor.subscribe((event) => {
      if (event.type === 'state.changed' && event.to === 'connecting' && !connectingAt.has(event.id)) connectingAt.set(event.id, performance.now());
      if (event.type === 'server.removed') removedAt.set(event.id, performance.now());
    });
    try {
      await node.start();
      const toConnecting: number[] = [];
      const toRemoved: number[] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        const id = `bench-${round}`;
        const key = `/mcp-supervisor/servers/${id}`;
        const put = performance.now();
        await client.put(key).value(JSON.stringify({ command: process.execPath, args: [fixture, 'stdio'] }));
        const connecting = await until(() => connectingAt.has(id), 10_000, 1);
        toConnecting.push((connectingAt.get(id) ?? connecting) - put);
        await supervisor.ready(id, 10_000);
        const deleted = performance.now();
        await client.delete().key(key);
        await until(() => removedAt.has(id), 10_000, 1);
        toRemoved.push((removedAt.get(id) as number) - deleted);
      }
      const scenario = `cluster: ${ROUNDS} servers registered and deregistered one at a time`;
      return [
        { scenario, metric: 'key put → connecting, p50', value: round(percentile(toConnecting, 50), 1), unit: 'ms', bound: 'goal ≤ 100 ms', note: `p99 ${round(percentile(toConnecting, 99), 1)} ms` },
        { scenario, metric: 'key deleted → stopped, process reaped, p50', value: round(percentile(toRemoved, 50), 1), unit: 'ms', note: `p99 ${round(percentile(toRemoved, 99), 1)} ms` },
        { scenario: 'reference: polling the registry every 30 s', metric: 'change → noticed, mean', value: POLL_INTERVAL_MS / 2, unit: 'ms', note: `at worst ${POLL_INTERVAL_MS} ms` },
      ];
    } finally {
      await node.stop().catch(() => undefined);
      await supervisor.stop().catch(() => undefined);
      client.close();
      await etcd.stop();
    }
  },
};
