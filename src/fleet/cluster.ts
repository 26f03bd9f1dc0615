import type { Lease } from 'etcd3';
import { rendezvousOwner } from '../core/policy/rendezvous.js';
import { definitionFromEntry } from '../config/load.js';
import type { EntryOptions, ServerDefinition } from '../config/load.js';
import { clusterKeys, EtcdRegistry } from '../runtime/registry/etcd.js';
import type { ClusterKeys } from '../runtime/registry/etcd.js';
import type { Supervisor } from './supervisor.js';
import type { ActorView } from './views.js';

/** Options of {@link ClusterNode}; see docs/cluster.md. */
export interface ClusterOptions {
  /** etcd client URLs. */
  etcd: readonly string[];
  /** This instance's name, unique in the cluster; default `<hostname>-<pid>`. */
  instance: string;
  /** The lease every key of this instance lives under (seconds); default 10. */
  leaseTtlSeconds?: number;
  /** Key prefix; default `/mcp-supervisor/`. */
  prefix?: string;
  /** What `<prefix>members/<instance>` holds: this instance's API URL. */
  apiUrl?: string;
  /** Servers handed to another instance per second at most (a joining member takes its share gradually); default 20. */
  movesPerSecond?: number;
  /** How registry entries are parsed (supervisor-wide health settings, env). */
  entryOptions?: Omit<EntryOptions, 'existingIds'>;
  /** Told about what the node does (claims, hand-offs, fencing, registry trouble). */
  onEvent?: (event: ClusterEvent) => void;
  /** How often the views of changed servers are published to `<prefix>status/` at most (ms); default 500. */
  statusIntervalMs?: number;
}

/** What a {@link ClusterNode} reports. */
export type ClusterEvent =
  | { type: 'cluster.claimed'; id: string }
  | { type: 'cluster.released'; id: string; reason: 'moved' | 'deregistered' | 'lost-claim' }
  | { type: 'cluster.fenced'; reason: string; stopped: number }
  | { type: 'cluster.registry-unreachable'; error: string }
  | { type: 'cluster.registry-reachable' }
  | { type: 'cluster.invalid-entry'; id: string; error: string };

/** Where the node stands with the registry. */
export type ClusterStatus = 'joining' | 'member' | 'unreachable' | 'stopped';

/**
 * One instance of a cluster that shares its fleet through etcd (docs/design.md §7). The fleet is
 * the keys `<prefix>servers/<id>`; the live instances are `<prefix>members/<instance>`, each
 * under its owner's lease. Each server belongs to one member by rendezvous hashing, and its
 * connection starts only once that member holds `<prefix>owners/<id>` (created in a transaction
 * under its lease). Everything is driven by watches: nothing polls.
 *
 * - A member that leaves (stopped, killed, partitioned past its lease) loses its keys with its
 *   lease; the others see the deletes and claim its servers.
 * - A member that joins takes its share as the old owners hand servers over, at most
 *   `movesPerSecond` each.
 * - etcd unreachable: the node keeps supervising what it holds (fail static) and says so; when
 *   etcd is back it takes a new lease and claims what it holds again.
 * - A node whose own clock shows it was frozen past its lease, or that finds its lease gone
 *   while etcd answers, stops every connection it holds at once (another member may already
 *   run them), then joins again.
 */
export class ClusterNode {
  private readonly keys: ClusterKeys;
  private readonly registry: EtcdRegistry;
  private readonly ttl: number;
  private lease: Lease | undefined;
  /** Live members: instance → its API URL. */
  private readonly members = new Map<string, string>();
  /** Views other members publish: id → view (with its owner). */
  private readonly remote = new Map<string, ActorView>();
  /** Held servers whose view changed since it was last published. */
  private readonly dirty = new Set<string>();
  private statusTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Registry entries: id → the JSON text of its `mcpServers` entry. */
  private readonly entries = new Map<string, string>();
  /** Owner keys as the registry shows them: id → instance. */
  private readonly owners = new Map<string, string>();
  /** Servers this node supervises: id → the entry text it runs. */
  private readonly held = new Map<string, string>();
  private readonly unfollow: Array<() => Promise<void>> = [];
  private running: Promise<void> | undefined;
  private again = false;
  private clock: NodeJS.Timeout | undefined;
  private lastTick = Date.now();
  private lastMoveAt = 0;
  private moveTimer: NodeJS.Timeout | undefined;
  private statusNow: ClusterStatus = 'joining';
  /**
   * After joining again (etcd was away, or the lease was lost), until this time the node only
   * re-claims what it holds: the other members are re-joining too, and a member list seen before
   * they have would move servers for nothing or claim servers their owners still run.
   */
  private settleUntil = 0;
  private settleTimer: NodeJS.Timeout | undefined;
  private lastFenceAt = 0;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly options: ClusterOptions,
  ) {
    this.keys = clusterKeys(options.prefix);
    this.registry = new EtcdRegistry(options.etcd);
    this.ttl = options.leaseTtlSeconds ?? 10;
  }

  /** `joining`, `member`, `unreachable` (fail static) or `stopped`. */
  get status(): ClusterStatus {
    return this.statusNow;
  }

  /** This instance's name. */
  get instance(): string {
    return this.options.instance;
  }

  /** The ids this node supervises now. */
  heldIds(): string[] {
    return [...this.held.keys()];
  }

  /** Live members as the registry shows them. */
  memberNames(): string[] {
    return [...this.members.keys()];
  }

  /** Every server of the cluster this node knows a view of (its own and what others publish), in id order. */
  fleetIds(): string[] {
    const ids = new Set(this.supervisor.ids());
    for (const id of this.remote.keys()) ids.add(id);
    return [...ids].sort();
  }

  /** A server's state: from this node's fleet, else from its owner's published view. */
  fleetStateOf(id: string): string | undefined {
    if (this.supervisor.has(id)) {
      try {
        return this.supervisor.state(id);
      } catch {
        return undefined;
      }
    }
    return this.remote.get(id)?.state;
  }

  /** Views of these ids, in this order, each with its owner; ids nobody shows are left out. */
  fleetViewsOf(ids: readonly string[]): ActorView[] {
    const me = this.options.instance;
    const local = new Map(this.supervisor.viewsOf(ids.filter((id) => this.supervisor.has(id))).map((view) => [view.id, { ...view, owner: me }]));
    return ids.flatMap((id) => local.get(id) ?? this.remote.get(id) ?? []);
  }

  /** The API URL of the member that supervises `id`, when another one does. */
  ownerUrlOf(id: string): string | undefined {
    const owner = this.owners.get(id);
    if (owner === undefined || owner === this.options.instance) return undefined;
    const url = this.members.get(owner);
    return url === '' ? undefined : url;
  }

  /** Joins the cluster: a lease, the member key, then the watches; servers follow as they are claimed. */
  async start(): Promise<void> {
    await this.join();
    const reconcile = (): void => this.reconcile();
    this.unfollow.push(
      await this.registry.follow(this.keys.members, {
        onSnapshot: (entries) => {
          this.members.clear();
          for (const [name, url] of entries) this.members.set(name, url);
        },
        onChange: ({ name, value }) => {
          if (value === undefined) this.members.delete(name);
          else this.members.set(name, value);
          reconcile();
        },
        onDisconnected: (error) => this.unreachable(error),
        onConnected: () => this.reachable(),
      }),
      await this.registry.follow(this.keys.owners, {
        onSnapshot: (entries) => {
          this.owners.clear();
          for (const [id, owner] of entries) this.owners.set(id, owner);
        },
        onChange: ({ name, value }) => {
          if (value === undefined) this.owners.delete(name);
          else this.owners.set(name, value);
          reconcile();
        },
      }),
      await this.registry.follow(this.keys.status, {
        onSnapshot: (entries) => {
          this.remote.clear();
          for (const [id, text] of entries) this.remember(id, text);
        },
        onChange: ({ name, value }) => {
          if (value === undefined) this.remote.delete(name);
          else this.remember(name, value);
        },
      }),
      await this.registry.follow(this.keys.servers, {
        onSnapshot: (entries) => {
          this.entries.clear();
          for (const [id, text] of entries) this.entries.set(id, text);
        },
        onChange: ({ name, value }) => {
          if (value === undefined) this.entries.delete(name);
          else this.entries.set(name, value);
          reconcile();
        },
      }),
    );
    // What changes here is published for the other members' fleet views, a few times a second at most.
    this.unsubscribe = this.supervisor.subscribe((event) => {
      if ('id' in event && this.held.has(event.id)) this.markDirty(event.id);
    });
    // Our own clock: a process frozen (SIGSTOP, a paused VM) past its lease must assume another
    // member runs its servers by now, and stop them before anything else it does.
    this.lastTick = Date.now();
    this.clock = setInterval(() => {
      const now = Date.now();
      const gap = now - this.lastTick;
      this.lastTick = now;
      if (gap > this.ttl * 1_000) void this.fence(`this process was frozen for ${gap} ms, past its ${this.ttl} s lease`);
    }, 200);
    this.clock.unref();
    reconcile();
    await this.settled();
  }

  /** Resolves when no reconciliation is running or due. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Hands back every server (their connections stop), revokes the lease (its keys go with it) and leaves. */
  async stop(): Promise<void> {
    this.statusNow = 'stopped';
    clearInterval(this.clock);
    clearTimeout(this.moveTimer);
    clearTimeout(this.settleTimer);
    clearTimeout(this.statusTimer);
    this.unsubscribe?.();
    await this.settled();
    await Promise.all(this.unfollow.splice(0).map((stop) => stop()));
    await Promise.all([...this.held.keys()].map((id) => this.supervisor.remove(id).catch(() => undefined)));
    this.held.clear();
    await this.lease?.revoke().catch(() => undefined);
    await this.registry.close();
  }

  private async join(): Promise<void> {
    const lease = await this.registry.lease(this.ttl);
    this.lease = lease;
    lease.on('lost', (error) => void this.onLeaseLost(lease, error));
    await this.registry.putUnder(lease, `${this.keys.members}${this.options.instance}`, this.options.apiUrl ?? '');
    this.statusNow = 'member';
  }

  private unreachable(error: Error): void {
    if (this.statusNow !== 'member') return;
    this.statusNow = 'unreachable';
    this.options.onEvent?.({ type: 'cluster.registry-unreachable', error: error.message });
  }

  private reachable(): void {
    if (this.statusNow !== 'unreachable') return;
    this.statusNow = 'member';
    this.options.onEvent?.({ type: 'cluster.registry-reachable' });
    this.reconcile();
  }

  /**
   * etcd3 gives up a lease when etcd says it expired, or when it could not renew it for twice its
   * TTL. If etcd answers now, the lease is gone and others may run our servers: fence. If it does
   * not, nobody can take them over either: keep them (fail static) and join again when it answers.
   */
  private async onLeaseLost(lease: Lease, error: Error): Promise<void> {
    if (this.lease !== lease || this.statusNow === 'stopped') return;
    this.lease = undefined;
    if (await this.registry.answers(`${this.keys.members}${this.options.instance}`, 1_000)) {
      await this.fence(`its lease is gone (${error.message})`);
    } else {
      this.unreachable(error);
    }
    await this.rejoin();
  }

  private async rejoin(): Promise<void> {
    for (let attempt = 0; this.statusNow !== 'stopped' && !this.lease; attempt += 1) {
      try {
        await this.join();
        // Our views went with the old lease: publish them again.
        for (const id of this.held.keys()) this.markDirty(id);
        this.settleUntil = Date.now() + this.ttl * 1_000;
        clearTimeout(this.settleTimer);
        this.settleTimer = setTimeout(() => this.reconcile(), this.ttl * 1_000 + 50);
        this.reachable();
        this.reconcile();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 200 * 2 ** attempt)));
      }
    }
  }

  /** Stops every connection this node holds, at once. */
  private async fence(reason: string): Promise<void> {
    // The clock and the lost lease both notice a freeze: one fence per wake-up is enough.
    if (Date.now() - this.lastFenceAt < this.ttl * 1_000) return;
    this.lastFenceAt = Date.now();
    const ids = [...this.held.keys()];
    this.held.clear();
    // First, synchronously: no process of ours may run on beside its new owner's.
    for (const id of ids) this.supervisor.killProcesses(id);
    this.options.onEvent?.({ type: 'cluster.fenced', reason, stopped: ids.length });
    await Promise.all(ids.map((id) => this.supervisor.remove(id).catch(() => undefined)));
    const lease = this.lease;
    if (lease && !lease.revoked()) {
      this.lease = undefined;
      await lease.revoke().catch(() => undefined);
      await this.rejoin();
    }
  }

  /** Runs one reconciliation at a time; a request during one runs another right after. */
  private reconcile(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.reconcileOnce().catch(() => undefined);
      } while (this.again && this.statusNow !== 'stopped');
    })().finally(() => {
      this.running = undefined;
    });
  }

  private async reconcileOnce(): Promise<void> {
    if (this.statusNow !== 'member' || !this.lease) return;
    const me = this.options.instance;
    const lease = this.lease;
    let deferred = false;
    if (Date.now() < this.settleUntil) {
      await this.reclaimHeld(lease);
      return;
    }

    // Hand back what is no longer ours: deregistered at once, moved ones a few per second.
    for (const [id, text] of this.held) {
      const entry = this.entries.get(id);
      if (entry === undefined) {
        await this.handBack(id, 'deregistered');
        continue;
      }
      const owner = this.owners.get(id);
      if (owner !== undefined && owner !== me) {
        // Someone else holds the owner key (ours lapsed while etcd was away): theirs stands.
        await this.handBack(id, 'lost-claim');
        continue;
      }
      if (rendezvousOwner(id, this.members.keys()) !== me) {
        if (!this.mayMove()) {
          deferred = true;
          continue;
        }
        await this.handBack(id, 'moved');
        continue;
      }
      if (entry !== text) {
        // The entry changed: run the new one.
        await this.supervisor.remove(id).catch(() => undefined);
        this.held.delete(id);
      } else if (owner === undefined) {
        // Our owner key lapsed (etcd was away); claim it again under the new lease.
        if (!(await this.registry.claim(lease, `${this.keys.owners}${id}`, me))) await this.handBack(id, 'lost-claim');
      }
    }

    // Take what is ours and free.
    for (const [id, text] of this.entries) {
      if (this.held.has(id) || rendezvousOwner(id, this.members.keys()) !== me) continue;
      const owner = this.owners.get(id);
      if (owner !== undefined && owner !== me) continue; // its owner hands it over first
      let definition: ServerDefinition;
      try {
        definition = this.definitionOf(id, text);
      } catch (error) {
        this.options.onEvent?.({ type: 'cluster.invalid-entry', id, error: (error as Error).message });
        continue;
      }
      if (!(await this.registry.claim(lease, `${this.keys.owners}${id}`, me))) continue;
      if (this.lease !== lease || this.statusNow !== 'member') return;
      this.supervisor.add(definition);
      this.held.set(id, text);
      this.markDirty(id);
      this.options.onEvent?.({ type: 'cluster.claimed', id });
    }

    if (deferred && !this.moveTimer) {
      this.moveTimer = setTimeout(() => {
        this.moveTimer = undefined;
        this.reconcile();
      }, 1_000 / this.movesPerSecond());
    }
  }

  /** Claims again the owner keys of what this node runs (they lapsed with its old lease); hands back any claimed by another. */
  private async reclaimHeld(lease: Lease): Promise<void> {
    for (const id of [...this.held.keys()]) {
      if (this.owners.get(id) === this.options.instance) continue;
      if (!this.entries.has(id)) {
        await this.handBack(id, 'deregistered');
        continue;
      }
      if (!(await this.registry.claim(lease, `${this.keys.owners}${id}`, this.options.instance))) await this.handBack(id, 'lost-claim');
    }
  }

  private movesPerSecond(): number {
    return Math.max(1, this.options.movesPerSecond ?? 20);
  }

  /** Whether another hand-over fits the rate now (and counts it). */
  private mayMove(): boolean {
    const now = Date.now();
    if (now - this.lastMoveAt < 1_000 / this.movesPerSecond()) return false;
    this.lastMoveAt = now;
    return true;
  }

  /** Stops the server here (its process reaped), then frees its owner key for the next owner. */
  private async handBack(id: string, reason: 'moved' | 'deregistered' | 'lost-claim'): Promise<void> {
    this.held.delete(id);
    this.dirty.delete(id);
    await this.supervisor.remove(id).catch(() => undefined);
    // Our view of it goes before the owner key, so the next owner's view never meets ours.
    if (reason !== 'lost-claim') await this.registry.delete(`${this.keys.status}${id}`).catch(() => undefined);
    if (reason !== 'lost-claim') await this.registry.release(`${this.keys.owners}${id}`, this.options.instance).catch(() => undefined);
    this.options.onEvent?.({ type: 'cluster.released', id, reason });
  }

  private remember(id: string, text: string): void {
    try {
      const view = JSON.parse(text) as ActorView;
      if (typeof view === 'object' && view !== null && typeof view.state === 'string') this.remote.set(id, { ...view, id });
    } catch {
      // Not a view: left out of the fleet view rather than shown wrong.
    }
  }

  private markDirty(id: string): void {
    this.dirty.add(id);
    if (this.statusTimer) return;
    this.statusTimer = setTimeout(() => void this.publish(), this.options.statusIntervalMs ?? 500);
  }

  /** Puts the views of the servers that changed, under our lease. */
  private async publish(): Promise<void> {
    this.statusTimer = undefined;
    const lease = this.lease;
    if (!lease || this.statusNow !== 'member') {
      // Published again once we are a member (etcd away, or re-joining).
      if (this.dirty.size > 0 && this.statusNow !== 'stopped') this.statusTimer = setTimeout(() => void this.publish(), this.options.statusIntervalMs ?? 500);
      return;
    }
    const ids = [...this.dirty].filter((id) => this.held.has(id) && this.supervisor.has(id));
    this.dirty.clear();
    for (const view of this.supervisor.viewsOf(ids)) {
      await this.registry.putUnder(lease, `${this.keys.status}${view.id}`, JSON.stringify({ ...view, owner: this.options.instance })).catch(() => this.dirty.add(view.id));
    }
  }

  /** A registry entry as a definition; `dependsOn` only names servers this node runs. */
  private definitionOf(id: string, text: string): ServerDefinition {
    const entry: unknown = JSON.parse(text);
    if (typeof entry === 'object' && entry !== null && 'dependsOn' in entry) {
      // A dependency supervised by another instance cannot gate admission here (docs/cluster.md).
      const { dependsOn: _ignored, ...rest } = entry as Record<string, unknown>;
      return definitionFromEntry(id, rest, this.options.entryOptions);
    }
    return definitionFromEntry(id, entry, this.options.entryOptions);
  }
}
