import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ConfigError } from '../config/errors.js';
import { ConfigConflictError, ConfigFileError, PersistenceError } from '../config/store.js';
import { ConnectionError, ConnectionLostError, NotConnectedError } from '../core/errors.js';
import { DuplicateServerError, UnknownServerError } from '../fleet/errors.js';

/** The one error body of the API. */
export interface ErrorBody {
  error: { code: string; message: string; [detail: string]: unknown };
}

/** A request the API rejects on its own terms: bad input, missing auth. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/**
 * Maps every typed error of the library onto a status and a stable `code`. Anything unknown is a
 * 500 whose message says nothing about internals (the log has the details).
 */
export function toErrorResponse(error: unknown): { status: ContentfulStatusCode; body: ErrorBody } {
  const body = (code: string, message: string, details: Record<string, unknown> = {}): ErrorBody => ({
    error: { code, message, ...details },
  });
  if (error instanceof ApiError) return { status: error.status, body: body(error.code, error.message, error.details) };
  if (error instanceof UnknownServerError) return { status: 404, body: body('not_found', error.message) };
  if (error instanceof DuplicateServerError) return { status: 409, body: body('conflict', error.message) };
  if (error instanceof ConfigError) return { status: 400, body: body('invalid_config', error.message, { issues: error.issues }) };
  // Writing the config file failed or would overwrite someone else's change: nothing was changed.
  if (error instanceof ConfigConflictError) return { status: 409, body: body('config_conflict', error.message, { path: error.path }) };
  if (error instanceof PersistenceError) return { status: 503, body: body('persistence_failed', error.message, { path: error.path, errno: error.errno ?? null }) };
  if (error instanceof ConfigFileError) return { status: 503, body: body('persistence_failed', error.message) };
  if (error instanceof NotConnectedError) return { status: 503, body: body('not_connected', error.message, { state: error.state }) };
  if (error instanceof ConnectionLostError) return { status: 503, body: body('connection_lost', error.message, { state: error.state }) };
  if (error instanceof ConnectionError) {
    if (error.kind === 'timeout') return { status: 504, body: body('timeout', error.message) };
    return { status: 502, body: body('upstream_error', error.message, { kind: error.kind }) };
  }
  if (error instanceof HTTPException) {
    // Hono's own validators throw these, e.g. for a body that is not JSON.
    const code = error.status === 400 ? 'invalid_request' : error.status === 401 ? 'unauthorized' : 'http_error';
    return { status: error.status as ContentfulStatusCode, body: body(code, error.message) };
  }
  return { status: 500, body: body('internal', 'internal error') };
}
