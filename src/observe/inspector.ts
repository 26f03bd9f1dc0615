import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import type { InspectionEvent, Observer } from 'xstate';
import { WebSocket, WebSocketServer } from 'ws';
import type { ServerTarget } from '../core/target.js';
import { publicTarget } from '../fleet/detail.js';
import { maskUrls } from '../core/secrets.js';
import { bearerOf, HostPolicy, tokenMatcher } from './local-access.js';
import { TokenSet } from './tokens.js';
import type { TokenSpec } from './tokens.js';

/** Options of {@link startInspector}; every field has a default. */
export interface StartInspectorOptions {
  /** Interface the bridge listens on; loopback by default, like the API. */
  host?: string;
  /** 0 (default) lets the OS pick. */
  port?: number;
  /** The Stately inspector UI the bridge page embeds; default `https://stately.ai/inspect`. */
  inspectorUrl?: string;
  /**
   * The API's bearer token. When set, a browser's WebSocket must present it, or the bridge's own
   * access key (a random one per bridge, which {@link InspectorBridge.url} carries so the token
   * itself is never printed), as `?token=` or `Authorization: Bearer`; without it the upgrade is
   * refused with 401 and nothing is sent.
   */
  token?: string;
  /** The API's tokens with roles: any of them (every role may read) opens a browser's WebSocket, as `token` does. */
  tokens?: readonly TokenSpec[];
  /**
   * Further names the bridge answers to besides its own address, `localhost`, `127.0.0.1` and
   * `[::1]` (`name` or `name:port`). Other `Host`s get 403, and so do WebSocket upgrades whose
   * `Origin` is present and not a page of one of these.
   */
  allowedHosts?: readonly string[];
}

/** A running inspector bridge. */
export interface InspectorBridge {
  /** Open this in a browser to watch every statechart live (with a token configured, it carries the bridge's access key). */
  url: string;
  /** Pass as `createSupervisor(config, { inspect })`. */
  inspect: Observer<InspectionEvent>;
  /** Stops the inspector, disconnects every browser and stops listening. */
  close(): Promise<void>;
}

const DEPTH_LIMIT = 12;
const RECENT_EVENTS = 200;

/**
 * Live statecharts in a browser: a small loopback HTTP + WebSocket bridge (a page embedding the
 * Stately inspector, fed over a WebSocket) and `@statelyai/inspect`'s WebSocket inspector,
 * whose `inspect` observer goes to the supervisor. Only the in-process inspector may publish
 * (it connects with a random key); browsers only listen. A browser that connects late still gets
 * every live actor and its latest snapshot, not just the last few events. Secrets are taken out
 * before anything leaves the process: env values and headers keep only their names, targets are
 * shown as the API shows them.
 *
 * @example
 * ```ts
 * const inspector = await startInspector();
 * const supervisor = createSupervisor(config, { inspect: inspector.inspect });
 * console.log(`open ${inspector.url}`);
 * // on shutdown
 * await supervisor.stop();
 * await inspector.close();
 * ```
 */
export async function startInspector(options: StartInspectorOptions = {}): Promise<InspectorBridge> {
  const host = options.host ?? '127.0.0.1';
  const inspectorUrl = options.inspectorUrl ?? 'https://stately.ai/inspect';
  const key = randomBytes(16).toString('hex');
  const isKey = tokenMatcher(key);
  // With tokens, browsers may present one or this key (the one the printed URL carries).
  const tokens = TokenSet.of(options.token, options.tokens);
  const accessKey = tokens.size === 0 ? undefined : randomBytes(16).toString('base64url');
  const isAccess =
    accessKey === undefined ? undefined : [(presented: string | undefined) => tokens.identify(presented) !== undefined, tokenMatcher(accessKey)];
  let policy = new HostPolicy({ host, allowedHosts: options.allowedHosts });

  const actors = new Map<string, string>();
  const snapshots = new Map<string, string>();
  const recent: string[] = [];
  const browsers = new Set<WebSocket>();

  const http = createServer((request, response) => {
    if (!policy.allowsHost(request.headers.host)) {
      response.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('forbidden_host: this is not the name of the inspector bridge\n');
      return;
    }
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // The page's address may carry the access key: never send it on, not even to the inspector frame.
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "frame-ancestors 'none'",
    });
    response.end(bridgePage(inspectorUrl));
  });
  /** Who may open a WebSocket: the right Host and Origin, and the publisher's key or (with a token) a browser's credential. */
  const verify = (request: IncomingMessage): { ok: true } | { ok: false; status: 401 | 403; reason: string } => {
    if (!policy.allowsHost(request.headers.host)) return { ok: false, status: 403, reason: 'forbidden_host' };
    const origin = request.headers.origin;
    if (origin !== undefined && !policy.allowsOrigin(origin)) return { ok: false, status: 403, reason: 'forbidden_origin' };
    const url = new URL(request.url ?? '/', 'http://bridge');
    if (url.pathname === '/publish') return isKey(url.searchParams.get('key') ?? undefined) ? { ok: true } : { ok: false, status: 401, reason: 'unauthorized' };
    if (!isAccess) return { ok: true };
    const presented = url.searchParams.get('token') ?? bearerOf(request.headers.authorization);
    // Both compared, always: the time taken says nothing about which one was close.
    const results = isAccess.map((matches) => matches(presented));
    return results.some(Boolean) ? { ok: true } : { ok: false, status: 401, reason: 'unauthorized' };
  };
  const wss = new WebSocketServer({
    server: http,
    verifyClient: ({ req }, done) => {
      const verdict = verify(req);
      if (verdict.ok) done(true);
      else done(false, verdict.status, verdict.reason);
    },
  });
  wss.on('connection', (socket, request) => {
    socket.on('error', () => socket.terminate());
    if (new URL(request.url ?? '/', 'http://bridge').pathname === '/publish') {
      socket.on('message', (data) => relay(data.toString()));
      return;
    }
    browsers.add(socket);
    socket.on('close', () => browsers.delete(socket));
    for (const message of [...actors.values(), ...snapshots.values(), ...recent]) socket.send(message);
  });

  const relay = (message: string): void => {
    remember(message);
    for (const browser of browsers) if (browser.readyState === WebSocket.OPEN) browser.send(message);
  };
  const remember = (message: string): void => {
    let event: { type?: unknown; sessionId?: unknown; snapshot?: { status?: unknown } };
    try {
      event = JSON.parse(message) as typeof event;
    } catch {
      return;
    }
    const session = typeof event.sessionId === 'string' ? event.sessionId : undefined;
    if (session === undefined) return;
    const status = event.snapshot?.status;
    if (status === 'done' || status === 'stopped' || status === 'error') {
      actors.delete(session);
      snapshots.delete(session);
      return;
    }
    if (event.type === '@xstate.actor') actors.set(session, message);
    else if (event.type === '@xstate.snapshot') snapshots.set(session, message);
    else {
      recent.push(message);
      if (recent.length > RECENT_EVENTS) recent.shift();
    }
  };

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const { port } = http.address() as AddressInfo;
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  policy = new HostPolicy({ host, port, allowedHosts: options.allowedHosts });

  const inspector = createWebSocketInspector({
    url: `ws://${authority}/publish?key=${key}`,
    serialize: (event) => redactSecrets(event) as typeof event,
  });

  return {
    url: `http://${authority}/${accessKey === undefined ? '' : `?token=${accessKey}`}`,
    inspect: inspector.inspect,
    async close() {
      inspector.stop();
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/**
 * A copy of an inspection event safe to show: `env` and `headers` objects keep their names with
 * every value replaced, `target`s look as they do in the API, objects with `toJSON` (sessions,
 * actor refs, snapshots) are reduced to it, and nesting stops at a fixed depth.
 */
function redactSecrets(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'function') return undefined;
  // Messages are redacted where they are born (src/runtime); URL credentials and query values
  // in any string are masked here once more, for whatever else reaches the inspector.
  if (typeof value === 'string') return maskUrls(value);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[circular]';
  if (depth > DEPTH_LIMIT) return '[…]';
  seen.add(value);
  try {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return redactSecrets(toJSON.call(value), depth + 1, seen);
    if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1, seen));
    const copy: Record<string, unknown> = {};
    for (const [name, item] of Object.entries(value)) {
      if ((name === 'env' || name === 'headers') && isRecord(item)) {
        copy[name] = Object.fromEntries(Object.keys(item).map((entry) => [entry, '[redacted]']));
      } else if (name === 'target' && isRecord(item) && typeof item.type === 'string') {
        copy[name] = publicTarget(item as unknown as ServerTarget);
      } else {
        copy[name] = redactSecrets(item, depth + 1, seen);
      }
    }
    return copy;
  } finally {
    seen.delete(value);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bridgePage(inspectorUrl: string): string {
  return `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>mcp-supervisor — statecharts</title>
<style>html,body{height:100%;margin:0}iframe{width:100%;height:100%;border:0}</style>
</head>
<body>
<iframe id="inspector" src="${inspectorUrl}"></iframe>
<script>
  const frame = document.getElementById('inspector');
  const pending = [];
  let ready = false;
  window.addEventListener('message', (event) => {
    if (event.data && event.data.type === '@statelyai.connected') {
      ready = true;
      for (const data of pending.splice(0)) frame.contentWindow.postMessage(data, '*');
    }
  });
  // The access key the printed address carries: kept for reconnects, taken out of the address bar.
  const params = new URLSearchParams(location.search);
  if (params.has('token')) {
    sessionStorage.setItem('mcp-supervisor.inspector-token', params.get('token'));
    history.replaceState(null, '', location.pathname);
  }
  const token = sessionStorage.getItem('mcp-supervisor.inspector-token');
  function connect() {
    const query = token ? '?token=' + encodeURIComponent(token) : '';
    const socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/' + query);
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (ready) frame.contentWindow.postMessage(data, '*');
      else pending.push(data);
    };
    socket.onclose = () => setTimeout(connect, 1000);
  }
  connect();
</script>
</body>
</html>
`;
}
