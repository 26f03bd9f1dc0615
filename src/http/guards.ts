import type { Context, MiddlewareHandler, Next } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Supervisor } from '../fleet/supervisor.js';
import { HostPolicy } from '../observe/local-access.js';
import type { LocalAccessOptions } from '../observe/local-access.js';
import type { HttpLimits } from './deps.js';
import { ApiError } from './errors.js';
import { isDryRun } from './params.js';

// The API's front door (docs/security.md): who may ask (Host, Origin, Sec-Fetch-Site), in what
// form (JSON bodies), and how much (body size, JSON depth, open streams, fleet size). Every
// check runs before a route does any work; each refusal is one typed error.

const MiB = 1024 * 1024;

/** The limits used where {@link HttpLimits} leaves a field unset. */
const DEFAULT_LIMITS: Readonly<Required<HttpLimits>> = {
  maxBodyBytes: MiB,
  maxCallBodyBytes: 4 * MiB,
  maxJsonDepth: 64,
  maxEventClients: 64,
  maxServers: 1_000,
};

export function resolveLimits(limits: HttpLimits = {}): Required<HttpLimits> {
  const resolved = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(limits) as Array<[keyof HttpLimits, number | undefined]>) {
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`limits.${name} must be a positive integer, got ${value}`);
    resolved[name] = value;
  }
  return resolved;
}

const STATE_CHANGING: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const TOOL_CALL = /^\/actors\/[^/]+\/tools\/[^/]+\/?$/;
const REGISTER = /^\/actors\/?$/;

const MCP = /^\/mcp(\/[^/]+)?\/?$/;

/**
 * `POST /actors/:id/tools/:name`, and `POST /mcp[/:id]` (JSON-RPC messages, mostly tool calls):
 * the body is JSON, with the larger body limit.
 */
function isToolCall(method: string, path: string): boolean {
  return method === 'POST' && (TOOL_CALL.test(path) || MCP.test(path));
}

/** `POST /actors`: a config entry as JSON. */
function isRegister(method: string, path: string): boolean {
  return method === 'POST' && REGISTER.test(path);
}

/** For messages: what the client sent, bounded, never able to run on anything. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}

/**
 * DNS rebinding and cross-site requests. Every request must name this service in `Host`
 * (403 `forbidden_host`, with or without a token); a state-changing one (POST, PUT, PATCH,
 * DELETE) must not come from another origin: an `Origin` that is present must be http(s) and an
 * allowed host, and `Sec-Fetch-Site: cross-site` is refused (403 `forbidden_origin`).
 */
export function localOnly(options: LocalAccessOptions): MiddlewareHandler {
  const policy = new HostPolicy(options);
  // Not async: a middleware that only checks returns `next()` itself (one promise fewer per request).
  return (c, next) => {
    const host = c.req.header('host') ?? new URL(c.req.url).host;
    if (!policy.allowsHost(host)) {
      throw new ApiError(
        403,
        'forbidden_host',
        `Host ${quoted(host)} is not this service; it answers to its own address, localhost, 127.0.0.1 and [::1] (add other names with --allowed-hosts)`,
      );
    }
    if (STATE_CHANGING.has(c.req.method)) {
      const origin = c.req.header('origin');
      if (origin !== undefined && !policy.allowsOrigin(origin)) {
        throw new ApiError(403, 'forbidden_origin', `requests from origin ${quoted(origin)} may not change anything here`);
      }
      if (c.req.header('sec-fetch-site')?.trim().toLowerCase() === 'cross-site') {
        throw new ApiError(403, 'forbidden_origin', 'cross-site requests may not change anything here');
      }
    }
    return next();
  };
}

/**
 * 413 `payload_too_large` for a body beyond the route's limit, before anything parses it:
 * `maxCallBodyBytes` for tool calls (and `POST /mcp`), `maxBodyBytes` for every other route. A
 * `Content-Length` beyond the limit is refused without reading; a streamed body is counted as it
 * arrives and refused once it passes the limit.
 */
export function bodyLimits(limits: Required<HttpLimits>): MiddlewareHandler {
  const tooLarge = (max: number) => (): never => {
    throw new ApiError(413, 'payload_too_large', `the body may be at most ${max} bytes`, { limit: max });
  };
  const call = bodyLimit({ maxSize: limits.maxCallBodyBytes, onError: tooLarge(limits.maxCallBodyBytes) });
  const other = bodyLimit({ maxSize: limits.maxBodyBytes, onError: tooLarge(limits.maxBodyBytes) });
  return (c, next) => {
    const toolCall = isToolCall(c.req.method, c.req.path);
    // A declared length (and no chunked encoding, which would override it) is decided from the
    // header alone: Node's parser never reads past Content-Length. Only this path avoids making
    // the request body a web stream, which cost more than the rest of a tool call's routing.
    const length = c.req.header('content-length');
    if (length !== undefined && /^\d+$/.test(length) && c.req.header('transfer-encoding') === undefined) {
      const max = toolCall ? limits.maxCallBodyBytes : limits.maxBodyBytes;
      if (Number(length) > max) tooLarge(max)();
      return next();
    }
    return toolCall ? call(c, next) : other(c, next);
  };
}

/**
 * The routes that take JSON (`POST /actors`, tool calls, `POST /mcp`): a body must be
 * `application/json` (415 `unsupported_media_type`; a tool call without any body needs no type),
 * and nest at most `maxJsonDepth` arrays and objects deep (400 `invalid_request`), checked before
 * it is parsed.
 * Runs after {@link bodyLimits}, so what it reads is bounded.
 */
export function jsonBodies(limits: Required<HttpLimits>): MiddlewareHandler {
  const check = async (c: Context, next: Next): Promise<void> => {
    const type = c.req.header('content-type');
    if (type !== undefined && !isJson(type)) {
      throw new ApiError(415, 'unsupported_media_type', `the body must be application/json, not ${quoted(type)}`);
    }
    // Read once here; Hono keeps the text for the validator and the handler.
    const text = await c.req.text();
    if (type === undefined && text.trim() !== '') {
      throw new ApiError(415, 'unsupported_media_type', 'a body needs "Content-Type: application/json"');
    }
    if (jsonDepthExceeds(text, limits.maxJsonDepth)) {
      throw new ApiError(400, 'invalid_request', `the JSON body nests deeper than ${limits.maxJsonDepth} levels`, { limit: limits.maxJsonDepth });
    }
    await next();
  };
  return (c, next) => {
    const { method, path } = c.req;
    return isToolCall(method, path) || isRegister(method, path) ? check(c, next) : next();
  };
}

function isJson(contentType: string): boolean {
  return contentType.split(';', 1)[0]?.trim().toLowerCase() === 'application/json';
}

/**
 * Whether a JSON text nests arrays and objects deeper than `max`: one pass over the characters,
 * no recursion and no parsing, so a body a million levels deep costs what any body of its
 * length costs. Brackets inside strings do not count. Malformed text is left to the parser.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c) index++; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x7b || char === 0x5b) {
      if (++depth > max) return true;
    } else if (char === 0x7d || char === 0x5d) {
      depth--;
    }
  }
  return false;
}

/**
 * 409 `limit_reached` for `POST /actors` once the fleet holds `max` servers; registrations in
 * flight count, so concurrent requests cannot pass the limit together.
 */
export function fleetLimit(supervisor: Supervisor, max: number): MiddlewareHandler {
  let pending = 0;
  const register = async (c: Context, next: Next): Promise<void> => {
    if (fleetSize(supervisor) + pending >= max) {
      throw new ApiError(409, 'limit_reached', `the fleet may hold at most ${max} servers; remove one first`, { limit: max });
    }
    // A dry run (`?dryRun=1`) is told what a registration would be told, but takes no place in the fleet.
    if (isDryRun(c.req.query('dryRun'))) return next();
    pending += 1;
    try {
      await next();
    } finally {
      pending -= 1;
    }
  };
  return (c, next) => (isRegister(c.req.method, c.req.path) ? register(c, next) : next());
}

/** Every server in the fleet: the supervised ones and the disabled ones. */
function fleetSize(supervisor: Supervisor): number {
  return supervisor.ids().length + supervisor.disabledIds().length;
}

/** The event streams open at once, up to a limit shared by `/events` and `/actors/:id/logs?follow=1`. */
export class StreamSlots {
  private open = 0;

  constructor(readonly max: number) {}

  /** Takes a slot, or throws 503 `too_many_clients`; call the returned function (once is enough) when the stream ends. */
  acquire(): () => void {
    if (this.open >= this.max) {
      throw new ApiError(503, 'too_many_clients', `at most ${this.max} event streams may be open at once; close one and retry`, { limit: this.max });
    }
    this.open += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open -= 1;
    };
  }
}
