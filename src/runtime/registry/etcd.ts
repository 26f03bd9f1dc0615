import { createRequire } from 'node:module';
import { boundedBy } from '../bounded.js';
import type { Etcd3, IKeyValue, Lease, Watcher } from 'etcd3';

const require = createRequire(import.meta.url);

/**
 * etcd3 (and gRPC under it) is loaded when a registry is first created, not when this module is:
 * it costs ~250 ms at start-up, which every run that is not in cluster mode would pay.
 */
function etcd3(): typeof import('etcd3') {
  return require('etcd3') as typeof import('etcd3');
}

/** Where a cluster keeps its keys (docs/design.md §7). */
export interface ClusterKeys {
  /** `<prefix>servers/`: one `mcpServers` entry (JSON) per server id. */
  servers: string;
  /** `<prefix>members/`: each live instance, under its lease. */
  members: string;
  /** `<prefix>owners/`: the instance supervising each server, under that instance's lease. */
  owners: string;
  /** `<prefix>status/`: each server's latest view, published by its owner under its lease. */
  status: string;
}

/** The key layout under `prefix` (default `/mcp-supervisor/`). */
export function clusterKeys(prefix = '/mcp-supervisor/'): ClusterKeys {
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return { servers: `${base}servers/`, members: `${base}members/`, owners: `${base}owners/`, status: `${base}status/` };
}

/** A change under a watched prefix: the key below the prefix, and its value (`undefined` when deleted). */
interface PrefixChange {
  name: string;
  value: string | undefined;
}

/** Handlers of {@link EtcdRegistry.follow}. */
export interface FollowHandlers {
  /** Everything under the prefix at one revision, first; then each change after it, once, in order. */
  onSnapshot(entries: Map<string, string>): void;
  onChange(change: PrefixChange): void;
  /** The watch lost its connection to etcd (it resumes by itself from the last revision it saw). */
  onDisconnected?(error: Error): void;
  /** The watch is connected again. */
  onConnected?(): void;
}

/**
 * The etcd client of a cluster instance: its lease, and list-then-watch of prefixes. A thin
 * layer over `etcd3`, which keeps leases alive and resumes watches after a reconnect from the
 * last revision they delivered (so no change is lost and none is delivered twice).
 */
export class EtcdRegistry {
  private readonly client: Etcd3;
  private readonly watchers = new Set<Watcher>();

  constructor(hosts: readonly string[]) {
    // Calls fail after 5 s instead of waiting on an unreachable etcd for long; the instance
    // keeps what it supervises meanwhile (fail static) and tries again.
    this.client = new (etcd3().Etcd3)({ hosts: [...hosts], dialTimeout: 3_000, defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 5_000 }) });
  }

  /** A lease of `ttlSeconds`, granted, kept alive by the client until revoked or lost. */
  async lease(ttlSeconds: number): Promise<Lease> {
    const lease = this.client.lease(ttlSeconds);
    await lease.grant();
    return lease;
  }

  /** Puts `key` under `lease`. */
  async putUnder(lease: Lease, key: string, value: string): Promise<void> {
    await lease.put(key).value(value).exec();
  }

  /** Whether etcd answers a read within `timeoutMs`. */
  async answers(key: string, timeoutMs: number): Promise<boolean> {
    return this.client
      .get(key)
      .options({ deadline: Date.now() + timeoutMs })
      .exec()
      .then(
        () => true,
        () => false,
      );
  }

  /** Puts `key` (no lease: it stays until deleted). */
  async put(key: string, value: string): Promise<void> {
    await this.client.put(key).value(value).exec();
  }

  /** Deletes `key`. */
  async delete(key: string): Promise<void> {
    await this.client.delete().key(key).exec();
  }

  /** Puts `key` (no lease) only if it does not exist, in one transaction; false when it does. */
  async create(key: string, value: string): Promise<boolean> {
    const result = await this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(value)).commit();
    return result.succeeded;
  }

  /** Deletes `key`; false when there was none. */
  async remove(key: string): Promise<boolean> {
    const result = await this.client.delete().key(key).exec();
    return Number(result.deleted) > 0;
  }

  /**
   * Makes `key` = `value` ours under `lease`, in transactions: created if no one holds it, or
   * bound to this lease if it already holds our value (left by our own previous lease, which etcd
   * has not revoked yet). False when another value holds it.
   */
  async claim(lease: Lease, key: string, value: string): Promise<boolean> {
    const created = await this.client.if(key, 'Create', '==', 0).then(lease.put(key).value(value)).commit();
    if (created.succeeded) return true;
    const rebound = await this.client.if(key, 'Value', '==', value).then(lease.put(key).value(value)).commit();
    return rebound.succeeded;
  }

  /** Creates `key` = `value` under `lease` only if it does not exist; false when it does. */
  async createUnder(lease: Lease, key: string, value: string): Promise<boolean> {
    const result = await this.client.if(key, 'Create', '==', 0).then(lease.put(key).value(value)).commit();
    return result.succeeded;
  }

  /** Puts `key` under `lease` only while `guardKey` holds `guardValue` (e.g. only while we own the server). */
  async putUnderIf(lease: Lease, key: string, value: string, guardKey: string, guardValue: string): Promise<boolean> {
    const result = await this.client.if(guardKey, 'Value', '==', guardValue).then(lease.put(key).value(value)).commit();
    return result.succeeded;
  }

  /** Deletes `key` only if it lives under `lease` (ours, not a later writer's). */
  async deleteUnder(lease: Lease, key: string): Promise<void> {
    const id = await lease.grant();
    await this.client.if(key, 'Lease', '==', id).then(this.client.delete().key(key)).commit();
  }

  /** Deletes `key` if it still holds `value` (ours), in one transaction. */
  async release(key: string, value: string): Promise<void> {
    await this.client.if(key, 'Value', '==', value).then(this.client.delete().key(key)).commit();
  }

  /**
   * Lists everything under `prefix`, then watches it from the next revision: `onSnapshot` once,
   * then `onChange` per change. Returns a function that stops the watch.
   */
  async follow(prefix: string, handlers: FollowHandlers): Promise<() => Promise<void>> {
    let current: Watcher | undefined;
    let stopped = false;
    const start = async (): Promise<void> => {
      const listing = await this.client.getAll().prefix(prefix).exec();
      const entries = new Map<string, string>();
      for (const kv of listing.kvs) entries.set(kv.key.toString().slice(prefix.length), kv.value.toString());
      handlers.onSnapshot(entries);
      const revision = BigInt(listing.header.revision) + 1n;
      const watcher = await this.client.watch().prefix(prefix).startRevision(revision.toString()).create();
      if (stopped) {
        await boundedBy(watcher.cancel(), 1_000);
        return;
      }
      current = watcher;
      this.watchers.add(watcher);
      const name = (kv: IKeyValue): string => kv.key.toString().slice(prefix.length);
      watcher.on('put', (kv) => handlers.onChange({ name: name(kv), value: kv.value.toString() }));
      watcher.on('delete', (kv) => handlers.onChange({ name: name(kv), value: undefined }));
      watcher.on('disconnected', (error) => handlers.onDisconnected?.(error));
      watcher.on('connected', () => handlers.onConnected?.());
      // etcd3 resumes a watch after a lost connection by itself, but gives up on one etcd
      // cancelled (its start revision was compacted away): list again and watch from there.
      watcher.on('error', (error) => {
        handlers.onDisconnected?.(error);
        this.watchers.delete(watcher);
        if (current === watcher) current = undefined;
        void boundedBy(watcher.cancel(), 1_000);
        const again = (attempt: number): void => {
          if (stopped) return;
          start().catch(() => setTimeout(() => again(attempt + 1), Math.min(5_000, 200 * 2 ** attempt)));
        };
        again(0);
      });
    };
    await start();
    return async () => {
      stopped = true;
      if (!current) return;
      this.watchers.delete(current);
      await boundedBy(current.cancel(), 1_000);
    };
  }

  /** Cancels every watch and closes the connection (leases are not revoked: do that first). */
  async close(): Promise<void> {
    await Promise.all([...this.watchers].map((watcher) => boundedBy(watcher.cancel(), 1_000)));
    this.watchers.clear();
    this.client.close();
  }
}
