import { createHash } from 'node:crypto';
import { UriTemplate } from '@modelcontextprotocol/client';
import type { Prompt, Resource, ResourceTemplateType as ResourceTemplate, Tool } from '@modelcontextprotocol/client';
import { DEFAULT_MAX_NAME_LENGTH, NameTable } from '../core/tool-names.js';
import type { ListKind, McpSession } from '../core/session.js';
import type { FleetEvent } from './events.js';
import type { Supervisor } from './supervisor.js';

/** Options of a {@link FleetCatalog}. */
export interface CatalogOptions {
  /** How long changes are gathered before listeners are told (ms); default 100. */
  debounceMs?: number;
  /** Longest fleet-wide exposed name (`<server>__<tool>`), 16–128; default 64. */
  maxNameLength?: number;
}

/**
 * One advertised item: its server, the name (or URI) clients see, and the item as the server
 * sent it. `exposed` is, for tools and prompts, `<server>__<name>` fleet-wide and the item's own
 * name in a server's scope; for resources the URI to show (the server's own, unless two servers
 * offer the same one: then `mcp-supervisor://<server>/<encodeURIComponent(uri)>` for each); for
 * resource templates the template as the server sent it.
 */
export interface CatalogEntry<T> {
  /** The server's id. */
  server: string;
  /** What clients see (see {@link CatalogEntry}). */
  exposed: string;
  /** The item as the server listed it. */
  item: T;
}

/** What one server offered at its last listing. */
interface Listing {
  tools: Tool[];
  prompts: Prompt[];
  resources: Resource[];
  templates: ResourceTemplate[];
}

/** The names made for one set of listings: they depend on every server's items, not one's. */
interface Names {
  tools: NameTable;
  prompts: NameTable;
  /** Servers offering each resource URI (more than one: each gets the prefixed form). */
  uriOwners: Map<string, Set<string>>;
}

type Digests = Record<ListKind, string>;

const KINDS: readonly ListKind[] = ['tools', 'prompts', 'resources'];
const EMPTY_DIGESTS: Digests = { tools: '', prompts: '', resources: '' };
/** The form of a resource URI two servers share; reads accept it always. */
const RESOURCE_PREFIX = 'mcp-supervisor://';

/** The last-known tools/prompts/resources of every server, and what is advertised: servers in healthy|degraded. */
export class FleetCatalog {
  private readonly debounceMs: number;
  private readonly maxNameLength: number;
  /** The last listing of every server in the fleet; it survives reconnects and outages. */
  private readonly known = new Map<string, Listing>();
  /** The servers serving now, as last seen on the event stream (advertised when also `known`). */
  private readonly serving = new Set<string>();
  /** The session whose answers are in {@link FleetCatalog.known}, per server. */
  private readonly listedSession = new Map<string, McpSession>();
  /** The session a listing was started for; unset again when it failed, so the next event retries. */
  private readonly attempted = new Map<string, McpSession>();
  private readonly errors = new Map<string, Error>();
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Lists asked for while a listing was running: done right after it. */
  private readonly again = new Map<string, Set<ListKind>>();
  private names: Names | undefined;
  private readonly templates = new Map<string, UriTemplate | null>();
  /** What listeners were last told, per server and kind. */
  private notified = new Map<string, Digests>();
  private readonly listeners = new Set<(change: { servers: string[]; kinds: ListKind[] }) => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly unsubscribes: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly supervisor: Supervisor,
    options: CatalogOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? 100;
    this.maxNameLength = options.maxNameLength ?? DEFAULT_MAX_NAME_LENGTH;
    // Fails here, not at the first listing, on a length no name fits in.
    new NameTable([], this.maxNameLength);
  }

  /** Subscribes to the supervisor (state.changed, server.added/removed, onListChanged) and lists every serving server. */
  async start(): Promise<void> {
    this.unsubscribes.push(
      // Events lost to a full buffer: every server is brought in line with its state instead.
      this.supervisor.subscribe((event) => this.onEvent(event), { onOverflow: () => void this.settled() }),
      this.supervisor.onListChanged((id, kind) => this.relist(id, kind)),
    );
    await this.settled();
    // What a client asks for after start is the baseline: only later changes are news.
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.notified = this.digests();
  }

  /** Stops listening to the supervisor and telling listeners; the lists stay readable. */
  stop(): void {
    this.stopped = true;
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Whether the server is advertised now (serving, with a listing). */
  isAdvertised(server: string): boolean {
    return this.serving.has(server) && this.known.has(server);
  }

  /** Advertised tools, sorted by exposed name. scope: one server id (then `exposed` = the tool's own name), or undefined for the whole fleet (`<server>__<tool>`). */
  tools(scope?: string): CatalogEntry<Tool>[] {
    return this.named('tools', scope, (names) => names.tools);
  }

  /** Advertised prompts, sorted by exposed name; scope as in {@link FleetCatalog.tools}. */
  prompts(scope?: string): CatalogEntry<Prompt>[] {
    return this.named('prompts', scope, (names) => names.prompts);
  }

  /** Advertised resources, sorted by exposed URI; scope as in {@link FleetCatalog.tools}. */
  resources(scope?: string): CatalogEntry<Resource>[] {
    const entries: CatalogEntry<Resource>[] = [];
    for (const server of this.advertisedIn(scope)) {
      for (const item of uniqueBy(this.known.get(server)!.resources, (resource) => resource.uri)) {
        entries.push({ server, exposed: scope === undefined ? this.exposedUri(server, item.uri) : item.uri, item });
      }
    }
    return sortEntries(entries);
  }

  /** Advertised resource templates, sorted by template (then server); scope as in {@link FleetCatalog.tools}. */
  resourceTemplates(scope?: string): CatalogEntry<ResourceTemplate>[] {
    const entries: CatalogEntry<ResourceTemplate>[] = [];
    for (const server of this.advertisedIn(scope)) {
      for (const item of uniqueBy(this.known.get(server)!.templates, (template) => template.uriTemplate)) entries.push({ server, exposed: item.uriTemplate, item });
    }
    return sortEntries(entries);
  }

  /** An exposed tool/prompt name in a scope → server and original name; also for servers NOT advertised now (last known), so a call to a server that just left service gets a reason, not "unknown tool". */
  resolveTool(exposed: string, scope?: string): { server: string; name: string; tool: Tool } | undefined {
    const found = this.resolveName(exposed, scope, (names) => names.tools);
    const tool = found && this.known.get(found.server)?.tools.find((item) => item.name === found.name);
    return tool && { ...found, tool };
  }

  /** An exposed prompt name in a scope → server and original name, last known included (see {@link FleetCatalog.resolveTool}). */
  resolvePrompt(exposed: string, scope?: string): { server: string; name: string } | undefined {
    const found = this.resolveName(exposed, scope, (names) => names.prompts);
    return found && this.known.get(found.server)?.prompts.some((item) => item.name === found.name) ? found : undefined;
  }

  /** The server holding a resource uri (exact uri, else a template match), among advertised servers. */
  resolveResource(uri: string, scope?: string): { server: string; uri: string } | undefined {
    if (uri.startsWith(RESOURCE_PREFIX)) {
      const rest = uri.slice(RESOURCE_PREFIX.length);
      const slash = rest.indexOf('/');
      const server = rest.slice(0, slash);
      if (slash < 0 || (scope !== undefined && scope !== server) || !this.isAdvertised(server)) return undefined;
      try {
        return { server, uri: decodeURIComponent(rest.slice(slash + 1)) };
      } catch {
        return undefined;
      }
    }
    const servers = this.advertisedIn(scope);
    const exact = servers.find((server) => this.known.get(server)!.resources.some((resource) => resource.uri === uri));
    if (exact !== undefined) return { server: exact, uri };
    const matched = servers.find((server) => this.known.get(server)!.templates.some((template) => this.templateOf(template.uriTemplate)?.match(uri)));
    return matched === undefined ? undefined : { server: matched, uri };
  }

  /** Told, debounced, when the advertised lists change: which servers changed and which kinds. Never told when nothing changed. */
  onChange(listener: (change: { servers: string[]; kinds: Array<'tools' | 'prompts' | 'resources'> }) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when every serving server has been listed (tests, serve-stdio start). */
  async settled(): Promise<void> {
    for (const id of [...this.known.keys()]) if (!this.supervisor.has(id)) this.drop(id);
    for (const id of this.supervisor.idsInOrder()) this.reconcile(id);
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
  }

  /** Why the server's last listing failed, until one succeeds (its last-known lists stay advertised meanwhile). */
  lastListError(server: string): Error | undefined {
    return this.errors.get(server);
  }

  private onEvent(event: FleetEvent): void {
    if (this.stopped) return;
    if (event.type === 'server.removed') this.drop(event.id);
    else if (event.type === 'state.changed' || event.type === 'server.added') this.reconcile(event.id);
    // A listing that failed on a server that stayed serving is tried again at its next probe,
    // so a slow first tools/list does not keep it off the endpoint until it reconnects.
    else if (event.type === 'probe.completed' && this.errors.has(event.id)) this.reconcile(event.id);
  }

  /** Brings one server in line with its state now: advertise, withdraw, or list a new session. */
  private reconcile(id: string): void {
    if (!this.supervisor.has(id)) return this.drop(id);
    const session = this.servingSession(id);
    if (!session) {
      if (this.serving.delete(id)) this.changed();
      return;
    }
    if (!this.serving.has(id)) {
      this.serving.add(id);
      this.changed();
    }
    if (this.attempted.get(id) !== session) this.list(id, session, KINDS);
  }

  /** The server said a list changed: list that kind again (everything, for a session not listed yet). */
  private relist(id: string, kind: ListKind): void {
    if (this.stopped) return;
    const session = this.servingSession(id);
    if (session) this.list(id, session, this.listedSession.get(id) === session ? [kind] : KINDS);
  }

  private list(id: string, session: McpSession, kinds: readonly ListKind[]): void {
    if (this.inFlight.has(id)) {
      const again = this.again.get(id) ?? new Set<ListKind>();
      for (const kind of kinds) again.add(kind);
      this.again.set(id, again);
      return;
    }
    this.attempted.set(id, session);
    const run = this.fetch(id, session, kinds)
      .then((listing) => {
        if (!this.supervisor.has(id)) return;
        this.known.set(id, listing);
        this.listedSession.set(id, session);
        this.errors.delete(id);
        this.names = undefined;
        this.changed();
      })
      .catch((error: unknown) => {
        // Last known stays advertised; the next state change (or list-changed notice) retries.
        this.errors.set(id, error instanceof Error ? error : new Error(String(error)));
        if (this.attempted.get(id) === session) this.attempted.delete(id);
      })
      .finally(() => {
        this.inFlight.delete(id);
        const again = this.again.get(id);
        this.again.delete(id);
        const current = again && !this.stopped ? this.servingSession(id) : undefined;
        if (again && current) this.list(id, current, this.listedSession.get(id) === current ? [...again] : KINDS);
      });
    this.inFlight.set(id, run);
  }

  /** The kinds asked for, fresh; the rest as last listed from this same session. */
  private async fetch(id: string, session: McpSession, kinds: readonly ListKind[]): Promise<Listing> {
    const previous = this.listedSession.get(id) === session ? this.known.get(id) : undefined;
    const capabilities = session.capabilities;
    const wants = (kind: ListKind): boolean => !previous || kinds.includes(kind);
    const [tools, prompts, resources, templates] = await Promise.all([
      wants('tools') ? this.supervisor.listTools(id) : previous!.tools,
      !capabilities?.prompts ? [] : wants('prompts') ? this.supervisor.listPrompts(id) : previous!.prompts,
      !capabilities?.resources ? [] : wants('resources') ? this.supervisor.listResources(id) : previous!.resources,
      !capabilities?.resources ? [] : wants('resources') ? this.supervisor.listResourceTemplates(id) : previous!.templates,
    ]);
    return { tools, prompts, resources, templates };
  }

  /** The server's session if it is serving now; undefined otherwise (disabled, or on its way out). */
  private servingSession(id: string): McpSession | undefined {
    try {
      if (this.supervisor.isDisabled(id)) return undefined;
      const state = this.supervisor.state(id);
      if (state !== 'healthy' && state !== 'degraded') return undefined;
      return this.supervisor.connection(id).getSnapshot().context.session;
    } catch {
      return undefined;
    }
  }

  /** The server left the fleet: forget everything about it. */
  private drop(id: string): void {
    const had = this.known.delete(id);
    this.serving.delete(id);
    this.listedSession.delete(id);
    this.attempted.delete(id);
    this.errors.delete(id);
    this.again.delete(id);
    if (had) {
      this.names = undefined;
      this.changed();
    }
  }

  /** Something may have changed: tell listeners after the debounce, if it really did. */
  private changed(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.debounceMs);
  }

  private flush(): void {
    const now = this.digests();
    const servers = new Set<string>();
    const kinds = new Set<ListKind>();
    for (const server of new Set([...this.notified.keys(), ...now.keys()])) {
      const before = this.notified.get(server) ?? EMPTY_DIGESTS;
      const after = now.get(server) ?? EMPTY_DIGESTS;
      for (const kind of KINDS) {
        if (before[kind] === after[kind]) continue;
        servers.add(server);
        kinds.add(kind);
      }
    }
    this.notified = now;
    if (servers.size === 0) return;
    const change = { servers: [...servers].sort(), kinds: KINDS.filter((kind) => kinds.has(kind)) };
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch {
        // One listener's failure is not the others'.
      }
    }
  }

  /** A hash of what each advertised server shows, per kind: names as exposed fleet-wide, and definitions. */
  private digests(): Map<string, Digests> {
    const digests = new Map<string, Digests>();
    const byServer = <T>(entries: CatalogEntry<T>[]): Map<string, Array<[string, T]>> => {
      const grouped = new Map<string, Array<[string, T]>>();
      for (const entry of entries) {
        const list = grouped.get(entry.server) ?? [];
        list.push([entry.exposed, entry.item]);
        grouped.set(entry.server, list);
      }
      return grouped;
    };
    const tools = byServer(this.tools());
    const prompts = byServer(this.prompts());
    const resources = byServer<unknown>([...this.resources(), ...this.resourceTemplates()]);
    for (const server of this.advertisedIn(undefined)) {
      // No items is no digest: a server with no prompts coming or going is no prompts change.
      const digest = (items: unknown[] | undefined): string => (items && items.length > 0 ? hashOf(items) : '');
      digests.set(server, { tools: digest(tools.get(server)), prompts: digest(prompts.get(server)), resources: digest(resources.get(server)) });
    }
    return digests;
  }

  private named<T extends { name: string }>(kind: 'tools' | 'prompts', scope: string | undefined, table: (names: Names) => NameTable): CatalogEntry<T>[] {
    const entries: CatalogEntry<T>[] = [];
    const names = scope === undefined ? table(this.currentNames()) : undefined;
    for (const server of this.advertisedIn(scope)) {
      for (const item of uniqueBy(this.known.get(server)![kind] as unknown as T[], (one) => one.name)) {
        entries.push({ server, exposed: names ? names.exposed(server, item.name)! : item.name, item });
      }
    }
    return sortEntries(entries);
  }

  private resolveName(exposed: string, scope: string | undefined, table: (names: Names) => NameTable): { server: string; name: string } | undefined {
    if (scope !== undefined) return this.known.has(scope) ? { server: scope, name: exposed } : undefined;
    return table(this.currentNames()).resolve(exposed);
  }

  /** Advertised servers in id order: all of them, or the scope's one. */
  private advertisedIn(scope: string | undefined): string[] {
    if (scope !== undefined) return this.isAdvertised(scope) ? [scope] : [];
    return [...this.serving].filter((server) => this.known.has(server)).sort();
  }

  /** Names over every known listing, advertised or not: a name does not change while its server is away. */
  private currentNames(): Names {
    if (this.names) return this.names;
    const tools: Array<{ server: string; name: string }> = [];
    const prompts: Array<{ server: string; name: string }> = [];
    const uriOwners = new Map<string, Set<string>>();
    for (const [server, listing] of this.known) {
      for (const tool of listing.tools) tools.push({ server, name: tool.name });
      for (const prompt of listing.prompts) prompts.push({ server, name: prompt.name });
      for (const resource of listing.resources) {
        const owners = uriOwners.get(resource.uri) ?? new Set<string>();
        owners.add(server);
        uriOwners.set(resource.uri, owners);
      }
    }
    this.names = { tools: new NameTable(tools, this.maxNameLength), prompts: new NameTable(prompts, this.maxNameLength), uriOwners };
    return this.names;
  }

  private exposedUri(server: string, uri: string): string {
    const owners = this.currentNames().uriOwners.get(uri);
    return owners && owners.size > 1 ? `${RESOURCE_PREFIX}${server}/${encodeURIComponent(uri)}` : uri;
  }

  /** A template parsed once; null when it is not a valid URI template (it then matches nothing). */
  private templateOf(text: string): UriTemplate | undefined {
    let template = this.templates.get(text);
    if (template === undefined) {
      try {
        template = new UriTemplate(text);
      } catch {
        template = null;
      }
      this.templates.set(text, template);
    }
    return template ?? undefined;
  }
}

/** The first of each key, in order: a server listing one name twice shows it once. */
function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** By exposed name, then server: the deterministic order the spec asks lists to come in. */
function sortEntries<T>(entries: CatalogEntry<T>[]): CatalogEntry<T>[] {
  return entries.sort((a, b) => (a.exposed !== b.exposed ? (a.exposed < b.exposed ? -1 : 1) : a.server < b.server ? -1 : a.server > b.server ? 1 : 0));
}

/** A hash of a JSON value with its object keys sorted, so key order alone is no change. */
function hashOf(value: unknown): string {
  return createHash('sha1').update(stableJson(value)).digest('base64url');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
