// Streamable HTTP for both protocol eras on one endpoint. Modern (2026-07-28) requests go to the
// SDK's createMcpHandler (one per scope, so that listen streams only hear their scope's notices);
// 2025-era requests to real sessions kept here, because the SDK's stateless legacy fallback
// answers GET with 405 and its clients could then never hear `list_changed`.
import { randomUUID } from 'node:crypto';
import { createMcpHandler, isInitializeRequest, isLegacyRequest, WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';
import type { McpHttpHandler, Server } from '@modelcontextprotocol/server';
import type { FleetCatalog } from '../fleet/catalog.js';
import type { GatewayScope, GatewayServers } from './server.js';

/** Limits of the HTTP gateway; every field has a default. */
export interface GatewayHttpOptions {
  /** Largest request body the SDK reads itself (bytes); default 4 MiB. The route passes bodies it read already. */
  maxRequestBodySize?: number;
  /** SSE keep-alive comment interval (ms); 0 turns them off; default 15 000. */
  keepAliveMs?: number;
  /** Legacy (2025) sessions open at once; an `initialize` beyond answers 503; default 256. */
  maxSessions?: number;
  /** A legacy session with no request and no open GET stream for this long is closed (ms); default 30 min. */
  sessionIdleMs?: number;
  /** Told of errors the SDK reports out of band (never with secrets: messages only). */
  onerror?: (error: Error) => void;
}

/** What a request to the gateway comes with. */
export interface GatewayRequestOptions {
  /** `''` for `/mcp` (the whole fleet), else the server id of `/mcp/<id>`. */
  scope: GatewayScope;
  /** The JSON body, already read and parsed by the route (the request's own body is then used up). */
  parsedBody?: unknown;
  /**
   * Who is asking (the token's name; undefined without tokens). A 2025-era session belongs to the
   * token that opened it: another token presenting its id is told it does not exist.
   */
  owner?: string;
}

/** The MCP endpoint as a web-standard handler: what `AppDeps.gateway` holds. */
export interface Gateway {
  /** What is advertised (the route resolves names for the audit trail). */
  readonly catalog: FleetCatalog;
  /** Serves one request of either era. */
  fetch(request: Request, options: GatewayRequestOptions): Promise<Response>;
  /** Legacy sessions open now. */
  sessionCount(): number;
  /** Closes every handler, session and stream; later requests get 503. */
  close(): Promise<void>;
}

const DEFAULTS = { maxRequestBodySize: 4 * 1024 * 1024, keepAliveMs: 15_000, maxSessions: 256, sessionIdleMs: 30 * 60_000 };

interface Session {
  readonly scope: GatewayScope;
  readonly owner: string | undefined;
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly server: Server;
  lastSeen: number;
  /** GET streams open on it: a listening client is not idle. */
  streams: number;
}

/** Builds the HTTP gateway over `servers`; it notifies its clients whenever the catalog changes. */
export function createGatewayHttp(servers: GatewayServers, options: GatewayHttpOptions = {}): Gateway {
  return new GatewayHttp(servers, { ...DEFAULTS, ...definedOf(options) }, options.onerror);
}

function definedOf<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

class GatewayHttp implements Gateway {
  readonly catalog: FleetCatalog;
  private readonly modern = new Map<GatewayScope, McpHttpHandler>();
  private readonly sessions = new Map<string, Session>();
  /** Sessions being initialized: they count against the cap before they have an id. */
  private pending = 0;
  private closed = false;
  private readonly sweeper: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly servers: GatewayServers,
    private readonly limits: typeof DEFAULTS,
    private readonly onerror: ((error: Error) => void) | undefined,
  ) {
    this.catalog = servers.catalog;
    this.unsubscribe = this.catalog.onChange((change) => this.notify(change.servers, change.kinds));
    // Unref'd: an idle sweep never keeps the process alive.
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(1_000, limits.sessionIdleMs / 4)));
    this.sweeper.unref();
  }

  async fetch(request: Request, options: GatewayRequestOptions): Promise<Response> {
    if (this.closed) return rpcError(503, -32603, 'mcp-supervisor is shutting down');
    const { scope, parsedBody, owner } = options;
    const legacy = await isLegacyRequest(request, parsedBody, { maxRequestBodySize: this.limits.maxRequestBodySize });
    if (!legacy) return this.modernOf(scope).fetch(request, parsedBody === undefined ? {} : { parsedBody });
    return this.legacy(request, scope, parsedBody, owner);
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    clearInterval(this.sweeper);
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    const handlers = [...this.modern.values()];
    this.modern.clear();
    await Promise.allSettled([...sessions.map((session) => closeSession(session)), ...handlers.map((handler) => handler.close())]);
  }

  /** The modern handler of a scope, made on first use. */
  private modernOf(scope: GatewayScope): McpHttpHandler {
    let handler = this.modern.get(scope);
    if (handler === undefined) {
      handler = createMcpHandler(() => this.servers.create(scope), {
        legacy: 'reject',
        maxRequestBodySize: this.limits.maxRequestBodySize,
        keepAliveMs: this.limits.keepAliveMs,
        onerror: this.onerror,
      });
      this.modern.set(scope, handler);
    }
    return handler;
  }

  private async legacy(request: Request, scope: GatewayScope, parsedBody: unknown, owner: string | undefined): Promise<Response> {
    const id = request.headers.get('mcp-session-id');
    if (id === null) {
      if (request.method === 'POST' && isInitialize(parsedBody)) return this.open(request, scope, parsedBody, owner);
      return rpcError(400, -32000, 'Bad Request: an Mcp-Session-Id header is required (send initialize first)');
    }
    const session = this.sessions.get(id);
    // A session belongs to the path it was opened on (/mcp/a's session id is unknown at /mcp), and
    // to the token that opened it: another operator cannot post into it, take its stream or end it.
    if (session === undefined || session.scope !== scope || session.owner !== owner) return rpcError(404, -32001, 'Session not found: initialize a new session');
    session.lastSeen = Date.now();
    const response = await session.transport.handleRequest(request, parsedBody === undefined ? {} : { parsedBody });
    if (request.method === 'GET' && response.ok && response.body !== null) return this.watched(session, response);
    return response;
  }

  /** A new legacy session: its own transport and Server, kept until DELETE, close or idleness. */
  private async open(request: Request, scope: GatewayScope, parsedBody: unknown, owner: string | undefined): Promise<Response> {
    if (this.sessions.size + this.pending >= this.limits.maxSessions) {
      return rpcError(503, -32000, `at most ${this.limits.maxSessions} MCP sessions may be open at once; close one (DELETE) and retry`);
    }
    this.pending += 1;
    let session: Session | undefined;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      keepAliveMs: this.limits.keepAliveMs,
      maxRequestBodySize: this.limits.maxRequestBodySize,
      onsessioninitialized: (id) => {
        if (session !== undefined && !this.closed) this.sessions.set(id, session);
      },
      onsessionclosed: (id) => this.drop(id),
    });
    const server = this.servers.create(scope);
    session = { scope, owner, transport, server, lastSeen: Date.now(), streams: 0 };
    transport.onclose = () => {
      if (transport.sessionId !== undefined) this.drop(transport.sessionId);
    };
    try {
      await server.connect(transport);
      const response = await transport.handleRequest(request, { parsedBody });
      // A failed initialize leaves no session behind.
      if (transport.sessionId === undefined || !this.sessions.has(transport.sessionId)) await server.close().catch(() => undefined);
      return response;
    } finally {
      this.pending -= 1;
    }
  }

  private drop(id: string): void {
    const session = this.sessions.get(id);
    if (session === undefined) return;
    this.sessions.delete(id);
    void closeSession(session);
  }

  /** The GET stream's body, counted while open so that a listening session is never idle. */
  private watched(session: Session, response: Response): Response {
    session.streams += 1;
    let open = true;
    const done = (): void => {
      if (!open) return;
      open = false;
      session.streams -= 1;
      session.lastSeen = Date.now();
    };
    const reader = response.body!.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done: ended, value } = await reader.read();
          if (ended) {
            done();
            controller.close();
          } else {
            controller.enqueue(value);
          }
        } catch (error) {
          done();
          controller.error(error);
        }
      },
      cancel(reason) {
        done();
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  }

  private sweep(): void {
    const before = Date.now() - this.limits.sessionIdleMs;
    for (const [id, session] of this.sessions) if (session.streams === 0 && session.lastSeen < before) this.drop(id);
  }

  /** Tells every client in scope of a changed server that its lists changed. */
  private notify(changed: readonly string[], kinds: ReadonlyArray<'tools' | 'prompts' | 'resources'>): void {
    const covers = (scope: GatewayScope): boolean => scope === '' || changed.includes(scope);
    for (const [scope, handler] of this.modern) {
      if (!covers(scope)) continue;
      if (kinds.includes('tools')) handler.notify.toolsChanged();
      if (kinds.includes('prompts')) handler.notify.promptsChanged();
      if (kinds.includes('resources')) handler.notify.resourcesChanged();
    }
    for (const session of this.sessions.values()) if (covers(session.scope)) void sendListChanged(session.server, kinds);
    // A removed server's own path is gone (`/mcp/<id>` answers 404): its handler and sessions end.
    for (const id of changed) if (!this.servers.supervisor.has(id)) this.closeScope(id);
  }

  private closeScope(scope: GatewayScope): void {
    const handler = this.modern.get(scope);
    this.modern.delete(scope);
    void handler?.close();
    for (const [id, session] of this.sessions) if (session.scope === scope) this.drop(id);
  }
}

/** `notifications/*_list_changed` on one connected instance; one whose client is gone is skipped. */
export async function sendListChanged(server: Server, kinds: ReadonlyArray<'tools' | 'prompts' | 'resources'>): Promise<void> {
  const sends: Array<Promise<void>> = [];
  if (kinds.includes('tools')) sends.push(server.sendToolListChanged());
  if (kinds.includes('prompts')) sends.push(server.sendPromptListChanged());
  if (kinds.includes('resources')) sends.push(server.sendResourceListChanged());
  await Promise.allSettled(sends);
}

async function closeSession(session: Session): Promise<void> {
  await session.server.close().catch(() => undefined);
  await session.transport.close().catch(() => undefined);
}

/** An `initialize` request, alone or in a batch. */
function isInitialize(body: unknown): boolean {
  return Array.isArray(body) ? body.some((message) => isInitializeRequest(message)) : isInitializeRequest(body);
}

/** A JSON-RPC error answer with no id, as the SDK's transports answer refusals. */
function rpcError(status: number, code: number, message: string): Response {
  return Response.json({ jsonrpc: '2.0', error: { code, message }, id: null }, { status });
}
