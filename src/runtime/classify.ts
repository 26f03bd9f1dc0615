import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { ConnectionError, errorMessageOf } from '../core/errors.js';
import type { ErrorKind } from '../core/errors.js';

const CLOSED_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTCONN', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ERR_STREAM_DESTROYED']);
const PERMANENT_SPAWN_CODES = new Set(['ENOENT', 'EACCES', 'ENOEXEC', 'ENOTDIR']);

/**
 * Maps whatever a transport or the SDK threw onto the few kinds the machine acts on. This is the
 * one place that knows SDK and Node error shapes; everything above it sees `ConnectionError`.
 */
export function toConnectionError(error: unknown, context?: { hadSession?: boolean }): ConnectionError {
  if (error instanceof ConnectionError) return error;
  const kind = classify(error, context?.hadSession ?? false);
  return new ConnectionError(kind, describe(error, kind), { cause: error });
}

function classify(error: unknown, hadSession: boolean): ErrorKind {
  if (error instanceof UnauthorizedError) return 'permanent';
  if (error instanceof McpError) {
    if (error.code === ErrorCode.MethodNotFound) return 'method-not-found';
    if (error.code === ErrorCode.RequestTimeout) return 'timeout';
    if (error.code === ErrorCode.ConnectionClosed) return 'closed';
    return 'transient';
  }
  if (error instanceof StreamableHTTPError || error instanceof SseError) {
    return classifyHttpStatus(error.code ?? -1, error.message, hadSession);
  }
  const code = errnoCode(error);
  if (code && PERMANENT_SPAWN_CODES.has(code) && isSpawnError(error)) return 'permanent';
  if (code && CLOSED_CODES.has(code)) return 'closed';
  const message = errorMessageOf(error);
  if (error instanceof TypeError && /invalid url/i.test(message)) return 'permanent';
  const status = /\(HTTP (\d{3})\)/.exec(message)?.[1];
  if (status) return classifyHttpStatus(Number(status), message, hadSession);
  if (isAbort(error)) return 'timeout';
  if (/not connected/i.test(message)) return 'closed';
  return 'transient';
}

function classifyHttpStatus(status: number, message: string, hadSession: boolean): ErrorKind {
  if (status === 401 || status === 403) return 'permanent';
  if (status === 404 && hadSession) return 'session-expired';
  if (status === 400 && /no valid session|session id/i.test(message)) return 'session-expired';
  if (status === 404) return 'permanent';
  return 'transient';
}

/** Node puts errno codes on the error or, for fetch, on its `cause` chain. */
function errnoCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth += 1) {
    if (typeof current === 'object' && 'code' in current && typeof current.code === 'string') return current.code;
    current = typeof current === 'object' && 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

function isSpawnError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'syscall' in error && String(error.syscall).startsWith('spawn');
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

function describe(error: unknown, kind: ErrorKind): string {
  const message = errorMessageOf(error);
  if (kind === 'permanent' && isSpawnError(error)) {
    const path = typeof error === 'object' && error !== null && 'path' in error ? String(error.path) : 'command';
    return `cannot start "${path}": ${errnoCode(error) === 'ENOENT' ? 'command not found' : message}`;
  }
  const code = errnoCode(error);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
