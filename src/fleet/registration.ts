import type { Lease } from 'etcd3';
import { definitionFromEntry } from '../config/load.js';
import { clusterKeys, EtcdRegistry } from '../runtime/registry/etcd.js';

/** Options of {@link registerServer}. */
export interface RegisterServerOptions {
  /** etcd client URLs. */
  etcd: readonly string[];
  /** The server's id in the fleet. */
  id: string;
  /** Its `mcpServers` entry, e.g. `{ type: 'streamable-http', url: 'http://10.0.0.7:3000/mcp' }`. */
  entry: Record<string, unknown>;
  /** The registration's lease (seconds): it lapses this long after the registrant stops renewing it; default 10. */
  ttlSeconds?: number;
  /** Key prefix; default `/mcp-supervisor/`. */
  prefix?: string;
}

/** A live registration, from {@link registerServer}. */
export interface Registration {
  /** The key it holds: `<prefix>servers/<id>`. */
  key: string;
  /** Resolves if the lease is lost (etcd unreachable past the TTL, or the lease revoked elsewhere). */
  lost: Promise<Error>;
  /** Deletes the key at once (revokes the lease) and disconnects. */
  close(): Promise<void>;
}

/**
 * Registers a server in a cluster's etcd (docs/cluster.md) under a lease kept alive while this
 * process runs: the cluster starts supervising it within moments, and stops it when the
 * registration is closed (at once) or this process dies (after the TTL). The entry is checked
 * like a config entry first, so a bad one fails here, not on the supervisors.
 *
 * @example
 * ```ts
 * const registration = await registerServer({ etcd: ['http://127.0.0.1:2379'], id: 'search', entry: { type: 'streamable-http', url: 'http://10.0.0.7:3000/mcp' } });
 * process.once('SIGTERM', () => void registration.close());
 * ```
 */
export async function registerServer(options: RegisterServerOptions): Promise<Registration> {
  const text = JSON.stringify(options.entry);
  // Throws ConfigError listing every problem. An entry with `${VAR}`s is expanded by each
  // supervisor in its own environment, not here: those supervisors check it (and log why not).
  if (!text.includes('${')) definitionFromEntry(options.id, options.entry, { env: {} });
  const key = `${clusterKeys(options.prefix).servers}${options.id}`;
  const registry = new EtcdRegistry(options.etcd);
  let lease: Lease;
  try {
    lease = await registry.lease(options.ttlSeconds ?? 10);
    // Never over another registration (or an operator's permanent entry): that one would then vanish with our lease.
    if (!(await registry.createUnder(lease, key, text))) {
      await lease.revoke().catch(() => undefined);
      throw new Error(`a server "${options.id}" is already registered (${key}); deregister it first or pick another id`);
    }
  } catch (error) {
    await registry.close();
    throw error;
  }
  const lost = new Promise<Error>((resolve) => lease.once('lost', resolve));
  let closing: Promise<void> | undefined;
  return {
    key,
    lost,
    close: () =>
      (closing ??= (async () => {
        await lease.revoke().catch(() => undefined);
        await registry.close();
      })()),
  };
}
