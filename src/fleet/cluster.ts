import type { Lease } from 'etcd3';
import { rendezvousOwner } from '../core/policy/rendezvous.js';
import { killProcessGroup } from '../runtime/process/process-group.js';
import { boundedBy } from '../runtime/bounded.js';
import { definitionFromEntry } from '../config/load.js';
import type { EntryOptions, ServerDefinition } from '../config/load.js';
import { clusterKeys, EtcdRegistry } from '../runtime/registry/etcd.js';
import type { ClusterKeys } from '../runtime/registry/etcd.js';
import type { Supervisor } from './supervisor.js';
import { ClusterJoinError } from './errors.js';
import type { ActorView } from './views.js';
import type { FleetEvent } from './events.js';
import type { ConnectionState } from '../core/states.js';

/** How long a starting member waits for others starting with it before it claims anything. */
const START_SETTLE_MS = 2_000;

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
  | { type: 'cluster.invalid-entry'; id: string; error: string }
  | { type: 'cluster.reconcile-failed'; error: string };

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
  /**
   * When each member (re)appeared, for the ones that joined after this node began claiming. A
   * member counts for ownership only once it has been there a lease TTL, as long as its own
   * settle after joining: servers are handed to it when it is ready to take them, not before.
   */
  private readonly memberSince = new Map<string, number>();
  private claiming = false;
  /** Views other members publish: id → view (with its owner). */
  private readonly remote = new Map<string, ActorView>();
  /** Who hears the state changes of servers other members supervise (`/events` on this instance). */
  private readonly remoteListeners = new Set<(event: FleetEvent) => void>();
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
  private lastTick = 0;
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
  /** Entries reported invalid, with the text that was: reported once per text, not per pass. */
  private readonly invalid = new Map<string, string>();
  private retryTimer: NodeJS.Timeout | undefined;
  /** Servers stopped here whose owner key could not be deleted yet: retried each pass, or the next owner would wait for ever. */
  private readonly unreleased = new Set<string>();
  private rejoinTimer: NodeJS.Timeout | undefined;

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

  /**
   * Adds a server to the cluster's fleet: `<prefix>servers/<id>` = the entry, created only if no
   * server has that id (false then). Whichever member owns it starts it.
   */
  async register(id: string, entry: Record<string, unknown>): Promise<boolean> {
    return this.registry.create(`${this.keys.servers}${id}`, JSON.stringify(entry));
  }

  /** Removes a server from the cluster's fleet (its owner stops it); false when it is not registered. */
  async deregister(id: string): Promise<boolean> {
    return this.registry.remove(`${this.keys.servers}${id}`);
  }

  /** Whether the registry holds a server with this id (as last seen by the watch). */
  isRegistered(id: string): boolean {
    return this.entries.has(id);
  }

  /**
   * State changes of the servers other members supervise, as their published views show them
   * (at most one per publishing interval: a change back and forth within it is not seen), as
   * `state.changed` events with `reason` naming the owner. Returns the unsubscribe function.
   */
  subscribeRemote(listener: (event: FleetEvent) => void): () => void {
    this.remoteListeners.add(listener);
    return () => this.remoteListeners.delete(listener);
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
    try {
      await this.join(true);
    } catch (error) {
      await this.registry.close().catch(() => undefined);
      throw new ClusterJoinError(this.options.etcd, error);
    }
    const reconcile = (): void => this.reconcile();
    this.unfollow.push(
      await this.registry.follow(this.keys.members, {
        onSnapshot: (entries) => {
          this.members.clear();
          for (const [name, url] of entries) {
            this.members.set(name, url);
            if (!this.memberSince.has(name)) this.noteMember(name);
          }
          reconcile();
        },
        onChange: ({ name, value }) => {
          if (value === undefined) {
            this.members.delete(name);
            this.memberSince.delete(name);
          } else {
            if (!this.members.has(name)) this.noteMember(name);
            this.members.set(name, value);
          }
          reconcile();
        },
        onDisconnected: (error) => this.unreachable(error),
        onConnected: () => this.reachable(),
      }),
      await this.registry.follow(this.keys.owners, {
        onSnapshot: (entries) => {
          this.owners.clear();
          for (const [id, owner] of entries) this.owners.set(id, owner);
          reconcile();
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
          reconcile();
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
    // Our own clock: a process frozen (SIGSTOP, a paused VM) that may have outlived its lease must
    // assume another member runs its servers by now, and stop them before anything else it does.
    // The lease runs from the last keepalive, sent every third of the TTL: a freeze longer than
    // two thirds of the TTL may have outlived it.
    this.lastTick = performance.now();
    this.clock = setInterval(() => {
      const now = performance.now();
      const gap = now - this.lastTick;
      this.lastTick = now;
      if (gap > (this.ttl * 1_000 * 2) / 3) void this.fence(`this process was frozen for ${Math.round(gap)} ms, long enough to outlive its ${this.ttl} s lease`);
    }, 200);
    this.clock.unref();
    // Members started together see each other before anyone claims: otherwise the first one up
    // would claim the whole fleet and hand most of it back a moment later.
    await new Promise((resolve) => setTimeout(resolve, Math.min(START_SETTLE_MS, (this.ttl * 1_000) / 2)));
    this.claiming = true;
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
    for (const timer of [this.moveTimer, this.settleTimer, this.statusTimer, this.retryTimer, this.rejoinTimer]) clearTimeout(timer);
    clearInterval(this.clock);
    this.unsubscribe?.();
    await this.settled();
    // Servers first, then the lease (the others take over at once), then the watches: each
    // bounded, so an etcd that does not answer cannot hold a shutdown.
    await Promise.all([...this.held.keys()].map((id) => this.supervisor.remove(id).catch(() => undefined)));
    this.held.clear();
    const lease = this.lease;
    this.lease = undefined;
    if (lease) await boundedBy(lease.revoke(), 2_000);
    await Promise.all(this.unfollow.splice(0).map((stop) => stop()));
    await this.registry.close();
  }

  /**
   * A lease, and this instance's member key under it. The first time, the name must be free: a
   * live member with the same name would "own" the same servers. Joining again, the key may
   * still be there from our previous lease (etcd revokes it soon): it is bound to the new one.
   */
  private async join(first = false): Promise<void> {
    if (this.statusNow === 'stopped') return;
    const lease = await this.registry.lease(this.ttl);
    const key = `${this.keys.members}${this.options.instance}`;
    const url = this.options.apiUrl ?? '';
    try {
      if (first) {
        if (!(await this.registry.createUnder(lease, key, url))) throw new Error(`instance name "${this.options.instance}" is in use by a live member of the cluster; give each instance its own --instance`);
      } else {
        await this.registry.putUnder(lease, key, url);
      }
    } catch (error) {
      await boundedBy(lease.revoke(), 1_000);
      throw error;
    }
    // stop() may have run while we waited on etcd.
    if (this.isStopped()) {
      await boundedBy(lease.revoke(), 1_000);
      return;
    }
    this.lease = lease;
    lease.on('lost', (error) => void this.onLeaseLost(lease, error));
    this.statusNow = 'member';
  }

  private isStopped(): boolean {
    return this.statusNow === 'stopped';
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
   * TTL. Either way this node keeps what it runs (fail static), takes a new lease as soon as etcd
   * answers, and then claims each server again: one another member took meanwhile is handed
   * back at once; the rest simply go on. (A freeze of this process is handled by its own clock.)
   */
  private async onLeaseLost(lease: Lease, error: Error): Promise<void> {
    if (this.lease !== lease || this.statusNow === 'stopped') return;
    this.lease = undefined;
    if (this.statusNow === 'member') {
      this.statusNow = 'unreachable';
      this.options.onEvent?.({ type: 'cluster.registry-unreachable', error: error.message });
    }
    await this.rejoin();
  }

  private async rejoin(): Promise<void> {
    // Backoff capped below the settle period, so no member re-joins after the others have settled.
    const cap = Math.max(200, Math.min(5_000, (this.ttl * 1_000) / 2));
    for (let attempt = 0; this.statusNow !== 'stopped' && !this.lease; attempt += 1) {
      try {
        await this.join();
        if (!this.lease) return;
        // Our views went with the old lease: publish them again.
        for (const id of this.held.keys()) this.markDirty(id);
        this.settleUntil = Date.now() + this.ttl * 1_000;
        clearTimeout(this.settleTimer);
        this.settleTimer = setTimeout(() => this.reconcile(), this.ttl * 1_000 + 50);
        this.reachable();
        this.reconcile();
        return;
      } catch {
        await new Promise((resolve) => {
          this.rejoinTimer = setTimeout(resolve, Math.min(cap, 200 * 2 ** attempt));
        });
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
        await this.reconcileOnce().catch((error: unknown) => {
          // etcd timed out, or a server would not start: report it and try again shortly, since
          // no watch event may come to trigger another pass.
          this.options.onEvent?.({ type: 'cluster.reconcile-failed', error: (error as Error).message });
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => this.reconcile(), 1_000);
        });
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
    for (const id of [...this.unreleased]) {
      if (this.held.has(id)) {
        this.unreleased.delete(id);
        continue;
      }
      await this.registry.release(`${this.keys.owners}${id}`, me);
      this.unreleased.delete(id);
    }
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
      if (this.ownerOf(id) !== me) {
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
      if (this.held.has(id) || this.ownerOf(id) !== me) continue;
      const owner = this.owners.get(id);
      if (owner !== undefined && owner !== me) continue; // its owner hands it over first
      let definition: ServerDefinition;
      try {
        definition = this.definitionOf(id, text);
        this.invalid.delete(id);
      } catch (error) {
        // Reported once per text: it cannot start until someone changes it.
        if (this.invalid.get(id) !== text) this.options.onEvent?.({ type: 'cluster.invalid-entry', id, error: (error as Error).message });
        this.invalid.set(id, text);
        continue;
      }
      if (!(await this.registry.claim(lease, `${this.keys.owners}${id}`, me))) continue;
      if (this.lease !== lease || this.statusNow !== 'member') return;
      try {
        this.supervisor.add(definition);
      } catch (error) {
        // Not started here (e.g. the last one of this id is still being removed): free it for
        // a later pass or another member rather than hold its key with nothing running.
        await this.registry.release(`${this.keys.owners}${id}`, me).catch(() => undefined);
        throw error;
      }
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

  /** A member seen (again): settled at once if this node has not begun claiming, else after one TTL. */
  private noteMember(name: string): void {
    if (!this.claiming || name === this.options.instance) {
      this.memberSince.set(name, 0);
      return;
    }
    this.memberSince.set(name, Date.now());
    // When it has settled, servers may move to it.
    setTimeout(() => this.reconcile(), this.ttl * 1_000 + 50).unref();
  }

  /** The owner of `id` by rendezvous hashing over the members that have settled (this node always has). */
  private ownerOf(id: string): string | undefined {
    const now = Date.now();
    const settled = [...this.members.keys()].filter((name) => name === this.options.instance || now - (this.memberSince.get(name) ?? 0) >= this.ttl * 1_000);
    return rendezvousOwner(id, settled);
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
    // Its process must be gone before the key is: whatever the removal did (or if it overran its
    // time), the groups it led are ended hard before the next owner may start its own.
    const groups = this.supervisor.processGroupsOf(id);
    await this.supervisor.remove(id).catch(() => undefined);
    for (const group of groups) killProcessGroup(group);
    if (reason !== 'lost-claim') {
      this.unreleased.add(id);
      await this.registry.release(`${this.keys.owners}${id}`, this.options.instance);
      this.unreleased.delete(id);
    }
    // Our view of it, only if it is still ours (a later owner's view stays); publishing checks
    // the owner key, so none of ours can follow.
    const lease = this.lease;
    if (lease) await this.registry.deleteUnder(lease, `${this.keys.status}${id}`).catch(() => undefined);
    this.options.onEvent?.({ type: 'cluster.released', id, reason });
  }

  private remember(id: string, text: string): void {
    let view: ActorView;
    try {
      view = JSON.parse(text) as ActorView;
    } catch {
      return; // Not a view: left out of the fleet view rather than shown wrong.
    }
    if (typeof view !== 'object' || view === null || typeof view.state !== 'string') return;
    const before = this.remote.get(id);
    this.remote.set(id, { ...view, id });
    if (this.supervisor.has(id) || view.owner === this.options.instance || before?.state === view.state) return;
    const event: FleetEvent = {
      type: 'state.changed',
      id,
      from: before?.state as ConnectionState | undefined,
      to: view.state as ConnectionState,
      at: typeof view.since === 'number' ? view.since : Date.now(),
      reason: `on ${view.owner ?? 'another instance'}`,
    };
    for (const listener of this.remoteListeners) listener(event);
  }

  private markDirty(id: string): void {
    this.dirty.add(id);
    this.schedulePublish();
  }

  /** Publishes the changed views once the interval has passed, unless a publish is already due. */
  private schedulePublish(): void {
    if (this.statusTimer) return;
    this.statusTimer = setTimeout(() => void this.publish(), this.options.statusIntervalMs ?? 500);
  }

  /** Puts the views of the servers that changed, under our lease. */
  private async publish(): Promise<void> {
    this.statusTimer = undefined;
    const lease = this.lease;
    if (!lease || this.statusNow !== 'member') {
      // Published again once we are a member (etcd away, or re-joining).
      if (this.dirty.size > 0 && this.statusNow !== 'stopped') this.schedulePublish();
      return;
    }
    const ids = [...this.dirty].filter((id) => this.held.has(id) && this.supervisor.has(id));
    this.dirty.clear();
    const me = this.options.instance;
    for (const view of this.supervisor.viewsOf(ids)) {
      // Only while the owner key says it is ours: a view can never outlive a hand-over.
      await this.registry
        .putUnderIf(lease, `${this.keys.status}${view.id}`, JSON.stringify({ ...view, owner: me }), `${this.keys.owners}${view.id}`, me)
        .catch(() => this.dirty.add(view.id));
    }
    if (this.dirty.size > 0) this.schedulePublish();
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
