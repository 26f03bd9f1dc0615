import {
  ProtocolError,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
  SseError,
  UnauthorizedError,
  UnsupportedProtocolVersionError,
} from '@modelcontextprotocol/client';
import { ConnectionError, errorMessageOf } from '../core/errors.js';
import type { ErrorKind } from '../core/errors.js';
import { redact } from '../core/secrets.js';

const CLOSED_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTCONN', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ERR_STREAM_DESTROYED']);
/**
 * Spawn failures no retry can fix: the command is missing or not executable, a path component
 * is not a directory, the arguments and environment are too big for the kernel (E2BIG), or a
 * value is one Node refuses (a NUL byte in an argument or env value). Resource exhaustion
 * (EAGAIN, EMFILE, ENOMEM) is not here: it may pass.
 */
const PERMANENT_SPAWN_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'ENOEXEC', 'ENOTDIR', 'EISDIR', 'ELOOP', 'ENAMETOOLONG', 'E2BIG']);
/** Node's argument validation, thrown synchronously by `spawn` (and by `fetch` for some values). */
const INVALID_VALUE_CODES = new Set(['ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_CHAR', 'ERR_INVALID_HTTP_TOKEN']);
/** What `fetch` (undici) throws for a request it can never send, whatever the server does. */
const UNSENDABLE_REQUEST = [
  /invalid header (name|value)/i,
  /cannot be constructed from a url that includes credentials/i,
  /unknown scheme/i,
  /only absolute urls are supported/i,
];

/** What {@link toConnectionError} knows about where the error happened. */
export interface ClassifyContext {
  /** A session id was sent (Streamable HTTP / SSE): a 404 then means the session expired. */
  hadSession?: boolean;
  /** Values that must not appear in the message (see `redact` in `src/core/secrets.ts`). */
  secrets?: readonly string[];
}

/**
 * Maps whatever a transport or the SDK threw onto the few kinds the machine acts on. This is the
 * one place that knows SDK and Node error shapes; everything above it sees `ConnectionError`.
 * The message is redacted here, where it is born: every secret in `context.secrets` and any URL
 * credentials or query values become `***`, so what reaches the machine (`lastError`, transition
 * reasons, events, views, logs, the inspector) never carries them.
 */
export function toConnectionError(error: unknown, context?: ClassifyContext): ConnectionError {
  if (error instanceof ConnectionError) return redactError(error, context?.secrets);
  const kind = classify(error, context?.hadSession ?? false);
  return new ConnectionError(kind, redact(describe(error, kind), context?.secrets), { cause: redactedCause(error, context?.secrets) });
}

/**
 * The same error with its message redacted (a new `ConnectionError` with the same kind, cause
 * and `earlyExit`), or `error` itself when there was nothing to redact.
 */
export function redactError(error: ConnectionError, secrets?: readonly string[]): ConnectionError {
  const message = redact(error.message, secrets);
  const cause = redactedCause(error.cause, secrets);
  if (message === error.message && cause === error.cause) return error;
  return new ConnectionError(error.kind, message, { cause, earlyExit: error.earlyExit });
}

/**
 * The cause as it is when no secret shows in its message, stack or its own causes; else a plain
 * `Error` standing in for it, with the same name and code and everything redacted: Node prints
 * an error's causes (`console.error`, `util.inspect`), and so does pino's error serializer.
 */
function redactedCause(cause: unknown, secrets?: readonly string[], depth = 0): unknown {
  if (!(cause instanceof Error) || depth > 4) return cause;
  const inner = redactedCause(cause.cause, secrets, depth + 1);
  const message = redact(cause.message, secrets);
  const stack = cause.stack === undefined ? undefined : redact(cause.stack, secrets);
  if (message === cause.message && stack === cause.stack && inner === cause.cause) return cause;
  const standIn = new Error(message, inner === undefined ? undefined : { cause: inner });
  standIn.name = cause.name;
  standIn.stack = stack;
  const code = (cause as { code?: unknown }).code;
  if (code !== undefined) Object.assign(standIn, { code });
  return standIn;
}

function classify(error: unknown, hadSession: boolean): ErrorKind {
  if (error instanceof UnauthorizedError) return 'permanent';
  if (error instanceof SdkHttpError) {
    const body = typeof error.data === 'object' && error.data !== null && 'text' in error.data ? String(error.data.text) : '';
    return classifyHttpStatus(error.status ?? -1, `${error.message} ${body}`, hadSession);
  }
  if (error instanceof SdkError) {
    switch (error.code) {
      case SdkErrorCode.RequestTimeout:
        return 'timeout';
      case SdkErrorCode.ConnectionClosed:
      case SdkErrorCode.NotConnected:
        return 'closed';
      // The method does not exist in the negotiated era (e.g. ping on a modern server).
      case SdkErrorCode.MethodNotSupportedByProtocolVersion:
        return 'method-not-found';
      case SdkErrorCode.EraNegotiationFailed: {
        // A server that does not offer the pinned era will not start to on retry.
        if (/did not offer pinned protocol version/i.test(error.message)) return 'permanent';
        // Otherwise the probe failed on the way: what broke it decides (refused → closed).
        const code = errnoCode(error.cause);
        if (code && CLOSED_CODES.has(code)) return 'closed';
        return 'transient';
      }
      default:
        break;
    }
  }
  // The server speaks only protocol versions we do not: a modern-only server under `era: legacy`.
  if (error instanceof UnsupportedProtocolVersionError) return 'permanent';
  if (error instanceof ProtocolError) return error.code === ProtocolErrorCode.MethodNotFound ? 'method-not-found' : 'transient';
  if (error instanceof SseError) return classifyHttpStatus(error.code ?? -1, error.message, hadSession);
  const code = errnoCode(error);
  if (code && PERMANENT_SPAWN_CODES.has(code) && isSpawnError(error)) return 'permanent';
  if (code && INVALID_VALUE_CODES.has(code)) return 'permanent';
  if (code && CLOSED_CODES.has(code)) return 'closed';
  const message = errorMessageOf(error);
  if (error instanceof TypeError && /invalid url/i.test(message)) return 'permanent';
  if (messagesOf(error).some((text) => UNSENDABLE_REQUEST.some((pattern) => pattern.test(text)))) return 'permanent';
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
    // The SDK's own string codes (REQUEST_TIMEOUT, …) are not errno codes: look at their causes.
    if (typeof current === 'object' && !(current instanceof SdkError) && 'code' in current && typeof current.code === 'string') return current.code;
    current = typeof current === 'object' && 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

function isSpawnError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'syscall' in error && String(error.syscall).startsWith('spawn');
}

/** The messages of an error and its causes (fetch hides the real reason in `cause`). */
function messagesOf(error: unknown): string[] {
  const messages: string[] = [];
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; depth += 1) {
    messages.push(errorMessageOf(current));
    current = typeof current === 'object' && 'cause' in current ? current.cause : undefined;
  }
  return messages;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

const SPAWN_REASONS: Record<string, string> = {
  ENOENT: 'command not found',
  EACCES: 'permission denied (not executable, or a directory on the way is not searchable)',
  EPERM: 'operation not permitted',
  ENOEXEC: 'not an executable format',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'is a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  E2BIG: 'the arguments and environment are too long for the system (E2BIG)',
};

function describe(error: unknown, kind: ErrorKind): string {
  const code = errnoCode(error);
  // Node quotes the offending value ("Received 'abc\x00…'"), escaped so that redaction might
  // miss it: the value is left out, the name of the argument or property is enough.
  const message = code && INVALID_VALUE_CODES.has(code) ? errorMessageOf(error).replace(/\.?\s*Received[\s\S]*$/, '') : errorMessageOf(error);
  if (kind === 'permanent' && isSpawnError(error)) {
    const path = typeof error === 'object' && error !== null && 'path' in error && error.path ? String(error.path) : 'the server process';
    const reason = code ? SPAWN_REASONS[code] : undefined;
    return `cannot start ${path === 'the server process' ? path : `"${path}"`}: ${reason ?? message}${reason && code && !reason.includes(code) ? ` (${code})` : ''}`;
  }
  if (kind === 'permanent' && code && INVALID_VALUE_CODES.has(code)) return `invalid value, retrying cannot help: ${message} (${code})`;
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
