import type { MiddlewareHandler } from 'hono';
import type { Supervisor } from '../fleet/supervisor.js';
import type { ClusterInfo } from './deps.js';
import { requestIdOf } from './audit.js';
import { ApiError } from './errors.js';

/** Marks a request one instance forwarded to another: it is answered there, never forwarded again. */
const FORWARDED_HEADER = 'x-mcp-supervisor-forwarded-by';

/** Request headers that carry meaning to the owner; nothing else crosses (no cookies, no Host). */
const FORWARDED_REQUEST_HEADERS = ['authorization', 'content-type', 'accept', 'last-event-id', 'traceparent', 'tracestate'];
/** Response headers passed back as the owner sent them. */
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'cache-control', 'x-content-type-options', 'retry-after', 'www-authenticate', 'location'];

/** The server id in `/actors/<id>` and `/actors/<id>/…`; undefined for `/actors` itself. */
function idOf(path: string): string | undefined {
  const match = /^\/actors\/([^/]+)(?:\/|$)/.exec(path);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1] as string);
  } catch {
    return undefined; // the route answers the malformed id
  }
}

/**
 * In cluster mode, a request about a server another instance supervises (its detail, logs,
 * commands, tool calls) is sent to that instance with the caller's token and answered as it
 * answers: one API on every instance. A request already forwarded once is answered here.
 */
export function forwardToOwner(supervisor: Supervisor, cluster: ClusterInfo, timeoutMs = 30_000): MiddlewareHandler {
  return async (c, next) => {
    const id = idOf(c.req.path);
    if (id === undefined || supervisor.has(id) || c.req.header(FORWARDED_HEADER) !== undefined) return next();
    const owner = cluster.ownerUrlOf(id);
    if (owner === undefined) return next();
    let target: URL;
    try {
      target = new URL(c.req.path, owner);
    } catch {
      throw new ApiError(502, 'owner_unreachable', `server "${id}" is supervised by another instance whose address is not a URL`);
    }
    // Only to an HTTP API: the address comes from the registry, and the caller's token goes with it.
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new ApiError(502, 'owner_unreachable', `server "${id}" is supervised by another instance at a non-HTTP address`);
    target.search = new URL(c.req.url).search;
    const headers = new Headers({ [FORWARDED_HEADER]: cluster.instance });
    // The owner's audit record carries the same request id as this instance's.
    const requestId = requestIdOf(c);
    if (requestId !== undefined) headers.set('x-request-id', requestId);
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = c.req.header(name);
      if (value !== undefined) headers.set(name, value);
    }
    const method = c.req.method;
    const text = method === 'GET' || method === 'HEAD' ? '' : await c.req.text();
    // No body rather than an empty one: fetch would label an empty string text/plain.
    const body = text === '' ? undefined : text;
    // The deadline is for the owner to start answering; a tool call's or a log stream's body then
    // takes as long as it takes (the caller hanging up still ends it).
    const controller = new AbortController();
    const onCallerGone = (): void => controller.abort(c.req.raw.signal.reason);
    c.req.raw.signal.addEventListener('abort', onCallerGone, { once: true });
    const deadline = setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    let response: Response;
    try {
      response = await fetch(target, { method, headers, body, redirect: 'manual', signal: controller.signal });
    } catch (error) {
      c.req.raw.signal.removeEventListener('abort', onCallerGone);
      throw new ApiError(502, 'owner_unreachable', `server "${id}" is supervised by another instance, which did not answer: ${(error as Error).message}`);
    } finally {
      clearTimeout(deadline);
    }
    const passed = new Headers();
    for (const name of FORWARDED_RESPONSE_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null) passed.set(name, value);
    }
    return new Response(response.body, { status: response.status, headers: passed });
  };
}
