import { Client, InMemoryTransport, SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { CallClient } from './call-client.js';
import type {
  CallToolRequest,
  CallToolResult,
  ClientOptions,
  GetPromptResult,
  McpSubscription,
  Prompt,
  ReadResourceResult,
  Resource,
  ResourceTemplateType as ResourceTemplate,
  SubscriptionFilter,
  Tool,
  Transport,
} from '@modelcontextprotocol/client';
import { ConnectionError } from '../core/errors.js';
import { redactor, secretsOf } from '../core/secrets.js';
import type { EraPreference, ListKind, McpSession, ProbeKind, ProtocolEra, SessionEvent, TransportKind } from '../core/session.js';
import { boundedBy } from './bounded.js';
import { redactError, toConnectionError } from './classify.js';
import { ping, PROBE_STRATEGIES } from './probes.js';
import { NO_SDK_TIMEOUT } from './sdk-timeouts.js';
import type { InProcessServer, ServerTarget } from '../core/target.js';
import { StdioProcessTransport } from './transports/stdio.js';
import { traceHeadersOf } from './spans.js';
import { LogRing } from './log-ring.js';
import { packageVersion } from './package-info.js';
import { processEnded, waitForListening } from './process/launch.js';
import { ProcessGroup } from './process/process-group.js';
import type { ProcessSupport } from './process/support.js';
import type { ProcessPolicy } from '../core/target.js';
import type { StdioTeardownTimings } from './transports/stdio.js';

/** An in-process server has no process to end; one frozen policy for all of them rather than an object per session. */
const NO_PROCESS_POLICY: ProcessPolicy = Object.freeze({});

export interface OpenSessionOptions {
  signal: AbortSignal;
  clientInfo?: { name: string; version: string };
  /** Where a stdio child's stderr goes; kept across attempts so the log survives restarts. */
  stderr?: LogRing;
  stdioTeardown?: StdioTeardownTimings;
  /** Deadline of the check run when an HTTP transport reports a broken stream. */
  verifyTimeoutMs?: number;
  /** Where started processes are reported (facts, hard-death watchdog). */
  process?: ProcessSupport;
}

const clientInfo = (): { name: string; version: string } => ({ name: 'mcp-supervisor', version: packageVersion() });
const STREAM_RETRIES = 2;
/**
 * How long `auto` waits for an answer to its `server/discover` probe. The spec: no answer within
 * a reasonable time means legacy; over stdio the SDK then falls back to `initialize` on the same
 * process, over HTTP the attempt fails and is retried.
 */
const ERA_PROBE_TIMEOUT_MS = 2_000;
/** A listen stream that lived less than this is not reopened (see `SdkSession.listen`). */
const MIN_LISTEN_LIFETIME_MS = 1_000;
/** How long closing a session waits for its listen stream to close before going on. */
const LISTEN_CLOSE_TIMEOUT_MS = 500;

/** The lists a server may say changed. */
const LIST_KINDS: readonly ListKind[] = ['tools', 'prompts', 'resources'];

/** The modern protocol revision. */
const MODERN_REVISION = '2026-07-28';

/**
 * The client options per era preference (no preference is `auto`): the SDK's negotiation mode and
 * no capabilities. Frozen and shared: a client keeps its options for its life, and the SDK copies
 * the capabilities it may add to (one set of objects per era rather than ~130 bytes per session).
 */
const CLIENT_OPTIONS: Readonly<Record<EraPreference | 'auto', ClientOptions>> = Object.freeze({
  legacy: clientOptions({ mode: 'legacy' }),
  modern: clientOptions({ mode: { pin: MODERN_REVISION }, probe: { timeoutMs: ERA_PROBE_TIMEOUT_MS, maxRetries: 0 } }),
  auto: clientOptions({ mode: 'auto', probe: { timeoutMs: ERA_PROBE_TIMEOUT_MS, maxRetries: 0 } }),
});

function clientOptions(versionNegotiation: NonNullable<ClientOptions['versionNegotiation']>): ClientOptions {
  return Object.freeze({ capabilities: Object.freeze({}), versionNegotiation: deepFreeze(versionNegotiation) });
}

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) if (typeof inner === 'object' && inner !== null) deepFreeze(inner);
  return Object.freeze(value);
}

/** What the SDK's Streamable HTTP transport reports once it gives up reopening its event stream. */
const STREAM_GAVE_UP = /maximum reconnection attempts/i;

/**
 * Starts a fresh transport and SDK `Client` and completes the MCP handshake. If `signal` aborts
 * first, everything started is closed before the promise rejects, so no process outlives the
 * attempt that spawned it. It rejects with a `ConnectionError` whose message carries none of the
 * target's secrets (`secretsOf`), and so does every error the session reports later; the lines
 * the server's process writes to `options.stderr` are redacted the same way.
 */
export async function openSession(target: ServerTarget, options: OpenSessionOptions): Promise<McpSession> {
  const secrets = secretsOf(target);
  options.stderr?.redactWith(redactor(secrets));
  try {
    return await open(target, options, secrets);
  } catch (error) {
    throw toConnectionError(error, { secrets });
  }
}

async function open(target: ServerTarget, options: OpenSessionOptions, secrets: readonly string[]): Promise<McpSession> {
  checkTarget(target);
  const launched = await launchServer(target, options);
  const transport = await createTransport(target, options);
  // Negotiated on every connect, so a server upgraded in place (legacy → modern) is not held to a
  // stale verdict. Over stdio the probe runs on this one process (our own transport), never on a
  // second copy of the server.
  // In-process servers are attached with `server.connect()`, which speaks the 2025-era protocol.
  const era = target.type === 'memory' ? 'legacy' : target.era;
  // A CallClient: `tools/call` without the SDK's per-request zod probe (src/runtime/call-client.ts).
  const client = new CallClient(options.clientInfo ?? clientInfo(), CLIENT_OPTIONS[era ?? 'auto']);
  const policy: ProcessPolicy = target.type === 'memory' ? NO_PROCESS_POLICY : target;
  const session = new SdkSession(client, transport, target.type, options.verifyTimeoutMs ?? 5_000, launched, policy, options.stdioTeardown, secrets);
  const abort = (): void => void session.close();
  options.signal.addEventListener('abort', abort, { once: true });
  try {
    options.signal.throwIfAborted();
    await client.connect(transport, { signal: options.signal, timeout: NO_SDK_TIMEOUT });
    options.signal.throwIfAborted();
    session.markConnected();
    return session;
  } catch (error) {
    await session.close();
    throw session.failure(error);
  } finally {
    options.signal.removeEventListener('abort', abort);
  }
}

/**
 * For an HTTP server the supervisor runs itself (`command` and `url` in the config): start the
 * process, then wait until its URL accepts connections, all under the attempt's deadline.
 */
async function launchServer(target: ServerTarget, options: OpenSessionOptions): Promise<ProcessGroup | undefined> {
  if ((target.type !== 'sse' && target.type !== 'streamable-http') || !target.launch) return undefined;
  const url = parseUrl(target.url);
  const group = await ProcessGroup.spawn(target.launch, {
    logs: options.stderr ?? new LogRing(),
    stdoutIsProtocol: false,
    observer: options.process?.observer,
    onGroupStarted: (pgid) => options.process?.watchdog?.watch(pgid),
    onGroupEnded: (pgid) => options.process?.watchdog?.forget(pgid),
  }).catch((error: unknown) => {
    throw toConnectionError(error);
  });
  try {
    await waitForListening(url, group, options.signal);
    return group;
  } catch (error) {
    await group.terminate(options.stdioTeardown);
    throw processEnded(group, target, error) ?? toConnectionError(error);
  }
}

/** `work`, or its rejection with the signal's reason once `signal` aborts (what `work` does later is ignored). */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

async function createTransport(target: ServerTarget, options: OpenSessionOptions): Promise<Transport> {
  switch (target.type) {
    case 'memory': {
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      // An app's factory may never settle: the attempt's deadline or a stop must still end it.
      const server = await untilAborted(Promise.resolve(target.createServer()), options.signal);
      await server.connect(serverSide);
      return withServerClose(clientSide, server);
    }
    case 'stdio':
      return new StdioProcessTransport(target, options.stdioTeardown, options.stderr, options.process);
    case 'sse':
      return new SSEClientTransport(parseUrl(target.url), { requestInit: { headers: target.headers } });
    case 'streamable-http':
      return new StreamableHTTPClientTransport(parseUrl(target.url), {
        requestInit: { headers: target.headers },
        // A couple of quick retries reopen the server-to-client event stream after a transient
        // reset; if it cannot be reopened, the session is re-established (see handleTransportError).
        reconnectionOptions: {
          maxRetries: STREAM_RETRIES,
          initialReconnectionDelay: 250,
          maxReconnectionDelay: 1_000,
          reconnectionDelayGrowFactor: 2,
        },
      });
  }
}

/** The in-memory client transport, whose close also closes the in-process server. */
function withServerClose(transport: InMemoryTransport, server: InProcessServer): Transport {
  const close = transport.close.bind(transport);
  transport.close = async () => {
    await close();
    await server.close().catch(() => undefined);
  };
  return transport;
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch (error) {
    throw new ConnectionError('permanent', `invalid URL "${url}"`, { cause: error });
  }
}

/**
 * Refuses, before anything starts, what no retry can make work: a URL that is not http(s), a URL
 * with credentials (fetch will not send a request to one; put them in an `Authorization` header),
 * a header name or value fetch rejects (a line break in a token pasted from a file). The messages
 * name the header, never its value.
 */
function checkTarget(target: ServerTarget): void {
  if (target.type !== 'sse' && target.type !== 'streamable-http') return;
  const url = parseUrl(target.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConnectionError('permanent', `unsupported URL scheme "${url.protocol}" (${target.type} needs http: or https:)`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConnectionError(
      'permanent',
      `the URL includes credentials (user:password@), which fetch refuses to send; put them in an "Authorization" header instead: ${target.url}`,
    );
  }
  for (const [name, value] of Object.entries(target.headers ?? {})) {
    try {
      new Headers([[name, value]]);
    } catch (error) {
      const invalidName = (() => {
        try {
          new Headers([[name, '']]);
          return false;
        } catch {
          return true;
        }
      })();
      throw new ConnectionError(
        'permanent',
        invalidName ? `invalid header name "${name}"` : `invalid value for header "${name}" (line breaks, NUL or other control characters are not allowed)`,
        { cause: error },
      );
    }
  }
}

class SdkSession implements McpSession {
  // Arrays replaced on change, not Sets: a session has one or two listeners, and at ten thousand
  // sessions two empty Sets each were ~0.5 KiB a connection.
  private listeners: readonly ((event: SessionEvent) => void)[] = [];
  private listChangedListeners: readonly ((kind: ListKind) => void)[] = [];
  private connected = false;
  private ended = false;
  private verifying = false;
  /** The open `subscriptions/listen` stream of a modern HTTP session, if any. */
  private subscription: McpSubscription | undefined;
  /** A `listen()` is waiting for its acknowledgement: no second one meanwhile. */
  private listening = false;
  /** The server dropped a listen stream right after opening it: not reopened in this session. */
  private listenGaveUp = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly client: Client,
    private readonly transportImpl: Transport,
    readonly transport: TransportKind,
    private readonly verifyTimeoutMs: number,
    /** The HTTP server process we launched for this session, if any. */
    private readonly launched: ProcessGroup | undefined,
    private readonly policy: ProcessPolicy,
    private readonly teardown: StdioTeardownTimings | undefined,
    /** Redacted from every error this session reports. */
    private readonly secrets: readonly string[] = [],
  ) {
    client.onclose = () => this.handleClosed();
    client.onerror = (error) => this.handleTransportError(error);
    // A launched HTTP server dying is hard evidence too, even with no request in flight.
    void launched?.exited.then(() => this.handleClosed());
  }

  /** The server's process: the stdio child, or the HTTP server we launched. */
  private get processGroup(): ProcessGroup | undefined {
    return this.launched ?? (this.transportImpl instanceof StdioProcessTransport ? this.transportImpl.processGroup : undefined);
  }

  get pid(): number | undefined {
    return this.processGroup?.pid;
  }

  get era(): ProtocolEra {
    return this.client.getProtocolEra() ?? 'legacy';
  }

  /** An error for a failed attempt or a lost session, with what the process's end means. */
  failure(error: unknown): ConnectionError {
    const direct = toConnectionError(error, { secrets: this.secrets });
    // What no retry can fix (a pinned era the server lacks, 401) stays the verdict, even though
    // closing the attempt has ended the process by now.
    if (direct.kind === 'permanent') return direct;
    const group = this.processGroup;
    const ended = group && processEnded(group, this.policy, error);
    return ended ? redactError(ended, this.secrets) : direct;
  }

  get serverInfo(): { name: string; version: string } | undefined {
    const info = this.client.getServerVersion();
    return info ? { name: info.name, version: info.version } : undefined;
  }

  markConnected(): void {
    this.connected = true;
    void this.listen();
  }

  /**
   * A modern Streamable HTTP server has no session and no GET stream: between probes nothing
   * would tell us it went away. One `subscriptions/listen` stream (tools list changes) is the
   * passive evidence: when it breaks, one probe decides at once (see `handleTransportError`),
   * and if the server still answers, the stream is opened again. A server that refuses to listen
   * is simply probed, as before.
   */
  private async listen(): Promise<void> {
    if (this.era !== 'modern' || this.ended || this.subscription || this.listenGaveUp) return;
    // Over stdio the stream is no liveness evidence (the child's exit is): opened only for
    // someone who wants to hear of list changes (`onListChanged`).
    if (this.transport !== 'streamable-http' && (this.transport !== 'stdio' || this.listChangedListeners.length === 0)) return;
    if (this.listening) return;
    this.listening = true;
    try {
      const subscription = await this.client.listen(this.listenFilter(), { timeout: this.verifyTimeoutMs });
      if (this.ended) {
        await subscription.close().catch(() => undefined);
        return;
      }
      this.subscription = subscription;
      const opened = Date.now();
      void subscription.closed.then((how) => {
        this.subscription = undefined;
        // A server that drops every stream at once would have us reopen in a tight loop: then
        // probes alone watch it for the rest of this session.
        if (Date.now() - opened < MIN_LISTEN_LIFETIME_MS) this.listenGaveUp = true;
        if (how === 'remote' && !this.ended) this.handleTransportError(new Error('the subscriptions/listen stream broke'));
      });
    } catch {
      // No listen support (or no answer in time): probes alone watch this server.
    } finally {
      this.listening = false;
    }
  }

  /** The list changes a modern session asks to hear of: tools always, the others when the server offers them. */
  private listenFilter(): SubscriptionFilter {
    const capabilities = this.client.getServerCapabilities();
    return {
      toolsListChanged: true,
      ...(capabilities?.prompts ? { promptsListChanged: true } : {}),
      ...(capabilities?.resources ? { resourcesListChanged: true } : {}),
    };
  }

  get capabilities(): { tools: boolean; prompts: boolean; resources: boolean } {
    const capabilities = this.client.getServerCapabilities();
    return { tools: capabilities?.tools !== undefined, prompts: capabilities?.prompts !== undefined, resources: capabilities?.resources !== undefined };
  }

  onListChanged(listener: (kind: ListKind) => void): () => void {
    // The server's own list changes: unsolicited on a legacy session, on the listen stream on a
    // modern one (the SDK dispatches both to these handlers). Told apart from health facts.
    // Handled from the first listener on: until then the SDK drops them unread, and a session
    // nobody lists from (most of a large fleet) keeps the client's handler table small.
    if (this.listChangedListeners.length === 0) {
      for (const kind of LIST_KINDS) this.client.setNotificationHandler(`notifications/${kind}/list_changed`, () => this.listChanged(kind));
    }
    this.listChangedListeners = [...this.listChangedListeners, listener];
    // A modern stdio session opens its listen stream for the first listener.
    if (this.connected) void this.listen();
    return () => {
      this.listChangedListeners = this.listChangedListeners.filter((other) => other !== listener);
    };
  }

  private listChanged(kind: ListKind): void {
    if (this.ended) return;
    for (const listener of this.listChangedListeners) {
      try {
        listener(kind);
      } catch {
        // One listener's failure is not the session's.
      }
    }
  }

  async probe(kind: ProbeKind, signal: AbortSignal): Promise<void> {
    try {
      await PROBE_STRATEGIES[kind](this.client, signal);
    } catch (error) {
      throw this.classify(error);
    }
  }

  async listTools(signal?: AbortSignal): Promise<Tool[]> {
    // A server without tools has none to list (asking makes the SDK client print to stdout).
    if (!this.capabilities.tools) return [];
    return this.allPages(async (cursor) => {
      const page = await this.client.listTools(cursor ? { cursor } : undefined, { signal, cacheMode: 'refresh' });
      return { items: page.tools, nextCursor: page.nextCursor };
    });
  }

  async listPrompts(signal?: AbortSignal): Promise<Prompt[]> {
    if (!this.capabilities.prompts) return [];
    return this.allPages(async (cursor) => {
      const page = await this.client.listPrompts(cursor ? { cursor } : undefined, { signal, cacheMode: 'refresh' });
      return { items: page.prompts, nextCursor: page.nextCursor };
    });
  }

  async getPrompt(params: { name: string; arguments?: Record<string, string> }, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<GetPromptResult> {
    try {
      return await this.client.getPrompt(params, { signal: options?.signal, timeout: options?.timeoutMs, maxTotalTimeout: options?.timeoutMs });
    } catch (error) {
      throw this.classify(error);
    }
  }

  async listResources(signal?: AbortSignal): Promise<Resource[]> {
    if (!this.capabilities.resources) return [];
    return this.allPages(async (cursor) => {
      const page = await this.client.listResources(cursor ? { cursor } : undefined, { signal, cacheMode: 'refresh' });
      return { items: page.resources, nextCursor: page.nextCursor };
    });
  }

  async listResourceTemplates(signal?: AbortSignal): Promise<ResourceTemplate[]> {
    if (!this.capabilities.resources) return [];
    return this.allPages(async (cursor) => {
      const page = await this.client.listResourceTemplates(cursor ? { cursor } : undefined, { signal, cacheMode: 'refresh' });
      return { items: page.resourceTemplates, nextCursor: page.nextCursor };
    });
  }

  async readResource(params: { uri: string }, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<ReadResourceResult> {
    try {
      // `bypass`: a read through the supervisor always reaches the server, and is not kept.
      return await this.client.readResource(params, { signal: options?.signal, timeout: options?.timeoutMs, maxTotalTimeout: options?.timeoutMs, cacheMode: 'bypass' });
    } catch (error) {
      throw this.classify(error);
    }
  }

  /** Every page of one list, followed by cursor. */
  private async allPages<T>(page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string }>): Promise<T[]> {
    try {
      const items: T[] = [];
      let cursor: string | undefined;
      do {
        const next = await page(cursor);
        items.push(...next.items);
        cursor = next.nextCursor;
      } while (cursor);
      return items;
    } catch (error) {
      throw this.classify(error);
    }
  }

  async callTool(params: CallToolRequest['params'], options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<CallToolResult> {
    try {
      // No progress callback is passed, so progress notifications never extend the deadline.
      return (await this.client.callTool(params, {
        signal: options?.signal,
        timeout: options?.timeoutMs,
        maxTotalTimeout: options?.timeoutMs,
        // Over Streamable HTTP (one POST per request) the trace context also travels as headers,
        // for HTTP-level tracing in front of or inside the server (docs/operations.md, tracing).
        headers: this.transport === 'streamable-http' ? traceHeadersOf(params._meta) : undefined,
      })) as CallToolResult;
    } catch (error) {
      throw this.classify(error);
    }
  }

  onEvent(listener: (event: SessionEvent) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((other) => other !== listener);
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ended = true;
      // Best effort and bounded: closing the stream sends a cancel, which a frozen server may
      // never answer, and a zombie's teardown must not wait on it.
      await boundedBy(this.subscription?.close(), LISTEN_CLOSE_TIMEOUT_MS);
      try {
        await this.client.close();
      } catch {
        // Closing is best effort; the transport's own close still ran.
      }
      await this.transportImpl.close().catch(() => undefined);
      await this.launched?.terminate(this.teardown);
    })();
    return this.closing;
  }

  toJSON(): Record<string, unknown> {
    return { transport: this.transport, pid: this.pid, era: this.era, serverInfo: this.serverInfo };
  }

  private classify(error: unknown): ConnectionError {
    // Sessions are a legacy matter: a 404 from a modern server is not a lost session.
    const hadSession = (this.transport === 'streamable-http' || this.transport === 'sse') && this.era === 'legacy';
    return toConnectionError(error, { hadSession, secrets: this.secrets });
  }

  /** Tells the machine the session is gone; the error's message is redacted on the way out. */
  private emit(event: SessionEvent): void {
    if (!this.connected || this.ended) return;
    this.ended = true;
    const safe = { ...event, error: toConnectionError(event.error, { secrets: this.secrets }) } as SessionEvent;
    for (const listener of this.listeners) listener(safe);
  }

  private handleClosed(): void {
    const group = this.processGroup;
    const ended = group && processEnded(group, this.policy);
    this.emit({ type: 'transport.closed', error: ended ?? new ConnectionError('closed', 'transport closed') });
  }

  /**
   * HTTP transports report a broken event stream as an error, which alone cannot tell a stopped
   * server from a restarted one or a stream the server merely ended. One immediate probe (ping, or
   * discover for a modern server) decides:
   * refused → closed, 404 → session expired, an answer → nothing happened.
   */
  private handleTransportError(error: Error): void {
    if (!this.connected || this.ended) return;
    const kind = this.classify(error).kind;
    if (kind === 'closed' || kind === 'session-expired') {
      this.emit({ type: kind === 'closed' ? 'transport.closed' : 'session.expired', error: this.classify(error) });
      return;
    }
    if (this.transport === 'stdio') return;
    if (STREAM_GAVE_UP.test(error.message)) {
      // Requests may still work, but the server can no longer reach us on its own (notifications,
      // sampling); a session in that state is broken, so start a fresh one.
      this.emit({ type: 'transport.closed', error: new ConnectionError('closed', `event stream could not be reopened: ${error.message}`, { cause: error }) });
      return;
    }
    if (this.verifying) return;
    this.verifying = true;
    const verify = this.era === 'modern' ? this.client.discover({ timeout: this.verifyTimeoutMs }) : ping(this.client, { timeout: this.verifyTimeoutMs });
    verify
      // Still answering: the stream was dropped, not the server; listen again.
      .then(() => this.listen())
      .catch((pingError: unknown) => {
        const verdict = this.classify(pingError);
        if (verdict.kind === 'closed') this.emit({ type: 'transport.closed', error: verdict });
        if (verdict.kind === 'session-expired') this.emit({ type: 'session.expired', error: verdict });
      })
      .finally(() => {
        this.verifying = false;
      });
  }
}
