import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { AuditOutcome, AuditTrail } from '../observe/audit.js';
import { accessOf } from './access.js';
import { principalOf } from './auth.js';
import { isDryRun } from './params.js';

/** The error code each failed request answered, noted by `onError` for the audit record. */
const errorCodes = new WeakMap<Context, string>();

/** Notes the error code a request is answered with (called by the app's one `onError`). */
export function noteErrorCode(c: Context, code: string): void {
  errorCodes.set(c, code);
}

/** What a route learned from a body it parsed (the MCP route: the JSON-RPC method, server and tool). */
export interface AuditDetail {
  /** The server the request is about. */
  target?: string;
  /** The tool, for a tool call. */
  tool?: string;
  /** The JSON-RPC method, on `/mcp`. */
  rpcMethod?: string;
}

const details = new WeakMap<Context, AuditDetail>();

/** Notes what the request is about, beyond its path, for its audit record (never argument values). */
export function noteAuditDetail(c: Context, detail: AuditDetail): void {
  details.set(c, detail);
}

/** Each audited request's id, for forwarding it to the owner in cluster mode. */
const requestIds = new WeakMap<Context, string>();

/** The id the audit trail records this request under; undefined for requests it does not record. */
export function requestIdOf(c: Context): string | undefined {
  return requestIds.get(c);
}

/** A client's own request id is kept when it is plain: it ends up in a log line. */
const PLAIN_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** The id a successful `POST /actors` registered: read from the body the route already parsed (Hono keeps it), nothing else of it. */
async function registeredId(c: Context): Promise<string | undefined> {
  const body = (await c.req.json().catch(() => undefined)) as { id?: unknown } | undefined;
  return typeof body?.id === 'string' ? body.id : undefined;
}

function outcomeOf(status: number): AuditOutcome {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'denied';
  return status < 400 ? 'ok' : 'error';
}

/**
 * Records every state-changing request (src/http/access.ts says which) once it is answered: who
 * (the token's name and role), what, on which server, how it ended and how long it took. Placed
 * before authentication, so refused requests are recorded too. The body is never read here; a route
 * that parsed it may name its server, tool and JSON-RPC method ({@link noteAuditDetail}).
 */
export function auditRequests(trail: AuditTrail): MiddlewareHandler {
  const unauthorized = new UnauthorizedBudget();
  return async (c, next) => {
    const access = accessOf(c.req.method, c.req.path);
    if (access.action === undefined) return next();
    const dryRun = access.action === 'register' && isDryRun(c.req.query('dryRun'));
    const started = performance.now();
    const time = new Date().toISOString();
    const presented = c.req.header('x-request-id');
    const requestId = presented !== undefined && PLAIN_REQUEST_ID.test(presented) ? presented : randomUUID();
    requestIds.set(c, requestId);
    // Set before the route answers, so that the answer is made with it: set afterwards, Hono
    // copies the answer into a full web Response, the most expensive step of a tool call's routing.
    c.header('X-Request-Id', requestId);
    await next();
    // An answer made without the context's headers (a Response of its own) gets it now.
    if (c.res.headers.get('x-request-id') !== requestId) c.header('X-Request-Id', requestId);
    const status = c.res.status;
    const outcome = outcomeOf(status);
    // A dry run changes nothing (the create form sends one per pause in typing): recorded only when refused.
    if (dryRun && outcome !== 'denied' && outcome !== 'unauthorized') return;
    // Anyone who reaches the port can send requests without a token: a flood of them must not
    // rotate the real records out of the files and the ring.
    const suppressed = outcome === 'unauthorized' ? unauthorized.take() : 0;
    if (suppressed < 0) return;
    const principal = principalOf(c);
    const detail = details.get(c);
    const target = access.target ?? detail?.target ?? (access.action === 'register' && status < 400 ? await registeredId(c) : undefined);
    const tool = access.tool ?? detail?.tool;
    const code = errorCodes.get(c);
    trail.record({
      time,
      requestId,
      token: principal?.name ?? null,
      role: principal?.role ?? null,
      action: access.action,
      target: target === undefined ? null : target.slice(0, MAX_FIELD),
      ...(tool === undefined ? {} : { tool: tool.slice(0, MAX_FIELD) }),
      ...(detail?.rpcMethod === undefined ? {} : { rpcMethod: detail.rpcMethod.slice(0, MAX_FIELD) }),
      method: c.req.method,
      path: c.req.path.slice(0, MAX_FIELD * 2),
      outcome,
      status,
      ...(code === undefined ? {} : { code }),
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      ...(suppressed > 0 ? { suppressed } : {}),
    });
  };
}

/** Longest target or tool name recorded (paths twice that): ids are at most 128 characters. */
const MAX_FIELD = 256;

/**
 * How many requests without a valid token are recorded: a burst of {@link UNAUTHORIZED_BURST},
 * then {@link UNAUTHORIZED_PER_SECOND} a second. The ones beyond are counted, and the next
 * recorded one says how many were left out.
 */
const UNAUTHORIZED_BURST = 20;
const UNAUTHORIZED_PER_SECOND = 2;

class UnauthorizedBudget {
  private tokens = UNAUTHORIZED_BURST;
  private last = performance.now();
  private skipped = 0;

  /** -1: do not record this one; otherwise record it, with this many left out before it. */
  take(now = performance.now()): number {
    this.tokens = Math.min(UNAUTHORIZED_BURST, this.tokens + ((now - this.last) / 1_000) * UNAUTHORIZED_PER_SECOND);
    this.last = now;
    if (this.tokens < 1) {
      this.skipped += 1;
      return -1;
    }
    this.tokens -= 1;
    const skipped = this.skipped;
    this.skipped = 0;
    return skipped;
  }
}
