import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
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

/** What the v2 SDK throws for a non-OK HTTP answer to a POST. */
const httpError = (status: number, message: string, body = ''): SdkHttpError =>
  new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, message, { status, text: body });
import { toConnectionError } from '../../../src/runtime/classify.js';
import { ConnectionError } from '../../../src/core/errors.js';

/** What `child_process.spawn` emits for a missing command. */
function spawnError(code: string, command: string): Error {
  return Object.assign(new Error(`spawn ${command} ${code}`), {
    errno: code === 'ENOENT' ? -2 : -13,
    code,
    syscall: `spawn ${command}`,
    path: command,
    spawnargs: [],
  });
}

function errnoError(code: string, message: string, syscall = 'read'): Error {
  return Object.assign(new Error(message), { code, syscall });
}

describe('toConnectionError', () => {
  it('maps a spawn ENOENT to permanent with "command not found"', () => {
    const cause = spawnError('ENOENT', 'nope');
    const error = toConnectionError(cause);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.kind).toBe('permanent');
    expect(error.message).toContain('command not found');
    expect(error.message).toContain('nope');
    expect(error.cause).toBe(cause);
  });

  it('maps a spawn EACCES to permanent, keeping the original message', () => {
    const error = toConnectionError(spawnError('EACCES', '/etc/passwd'));
    expect(error.kind).toBe('permanent');
    expect(error.message).toContain('/etc/passwd');
    expect(error.message).toContain('EACCES');
  });

  it('does not treat an ENOENT that is not from spawn as permanent', () => {
    expect(toConnectionError(errnoError('ENOENT', 'open /tmp/missing', 'open')).kind).toBe('transient');
  });

  it('maps the SDK errors: -32601 and a method the era lacks → method-not-found, closed/not connected → closed, timeouts → timeout, other protocol errors → transient', () => {
    expect(toConnectionError(new ProtocolError(ProtocolErrorCode.MethodNotFound, 'Method not found')).kind).toBe('method-not-found');
    expect(toConnectionError(new SdkError(SdkErrorCode.MethodNotSupportedByProtocolVersion, 'ping is not part of 2026-07-28')).kind).toBe('method-not-found');
    expect(toConnectionError(new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed')).kind).toBe('closed');
    expect(toConnectionError(new SdkError(SdkErrorCode.NotConnected, 'Not connected')).kind).toBe('closed');
    expect(toConnectionError(new Error('Not connected')).kind).toBe('closed');
    expect(toConnectionError(new SdkError(SdkErrorCode.RequestTimeout, 'Request timed out')).kind).toBe('timeout');
    expect(toConnectionError(new ProtocolError(ProtocolErrorCode.InternalError, 'boom')).kind).toBe('transient');
    expect(toConnectionError(new ProtocolError(ProtocolErrorCode.InvalidParams, 'bad')).kind).toBe('transient');
  });

  it('era negotiation: a pinned era the server does not offer is permanent, a probe cut by a refused connection is closed', () => {
    const pinned = new SdkError(SdkErrorCode.EraNegotiationFailed, 'server did not offer pinned protocol version 2026-07-28');
    expect(toConnectionError(pinned).kind).toBe('permanent');
    const refused = new SdkError(SdkErrorCode.EraNegotiationFailed, 'probe failed', undefined, {
      cause: new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }),
    });
    expect(toConnectionError(refused).kind).toBe('closed');
    expect(toConnectionError(new SdkError(SdkErrorCode.EraNegotiationFailed, 'connection closed during the probe')).kind).toBe('transient');
    // A modern-only server asked for the 2025 handshake (era pinned to legacy).
    expect(toConnectionError(new UnsupportedProtocolVersionError({ supported: ['2026-07-28'], requested: '2025-11-25' })).kind).toBe('permanent');
  });

  it('keeps the SDK error message and the original error as cause', () => {
    const cause = new SdkError(SdkErrorCode.RequestTimeout, 'Request timed out');
    const error = toConnectionError(cause);
    expect(error.message).toBe('Request timed out');
    expect(error.cause).toBe(cause);
  });

  it('maps a Streamable HTTP 404 to session-expired only when a session id was sent', () => {
    const lost = httpError(404, 'Not Found', '{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}');
    expect(toConnectionError(lost, { hadSession: true }).kind).toBe('session-expired');
    expect(toConnectionError(lost, { hadSession: false }).kind).toBe('permanent');
    expect(toConnectionError(lost).kind).toBe('permanent');
  });

  it('maps a Streamable HTTP 400 "No valid session ID" to session-expired', () => {
    const error = httpError(400, 'Error POSTing to endpoint: Bad Request: No valid session ID provided');
    expect(toConnectionError(error).kind).toBe('session-expired');
    expect(toConnectionError(httpError(400, 'Bad Request: malformed body')).kind).toBe('transient');
  });

  it('maps HTTP 401 and 403 to permanent, and 5xx to transient', () => {
    expect(toConnectionError(httpError(401, 'Unauthorized')).kind).toBe('permanent');
    expect(toConnectionError(new SdkHttpError(SdkErrorCode.ClientHttpForbidden, 'Forbidden', { status: 403 })).kind).toBe('permanent');
    expect(toConnectionError(new SseError(401, 'Unauthorized', new Event('error') as ConstructorParameters<typeof SseError>[2])).kind).toBe('permanent');
    expect(toConnectionError(new UnauthorizedError()).kind).toBe('permanent');
    expect(toConnectionError(httpError(503, 'Service Unavailable')).kind).toBe('transient');
    expect(toConnectionError(new Error('Error POSTing to endpoint (HTTP 401): Unauthorized')).kind).toBe('permanent');
    expect(toConnectionError(new Error('Error POSTing to endpoint (HTTP 502): Bad Gateway')).kind).toBe('transient');
  });

  it('maps fetch failures with ECONNREFUSED in the cause chain to closed, naming the code', () => {
    const error = toConnectionError(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }));
    expect(error.kind).toBe('closed');
    expect(error.message).toContain('fetch failed');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('maps ECONNRESET, EPIPE and undici socket errors to closed', () => {
    expect(toConnectionError(errnoError('ECONNRESET', 'read ECONNRESET')).kind).toBe('closed');
    expect(toConnectionError(errnoError('EPIPE', 'write EPIPE', 'write')).kind).toBe('closed');
    const undici = new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    expect(toConnectionError(undici).kind).toBe('closed');
  });

  it('maps an invalid URL to permanent', () => {
    let thrown: unknown;
    try {
      new URL('not a url');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect(toConnectionError(thrown).kind).toBe('permanent');
    expect(toConnectionError(new TypeError('Invalid URL')).kind).toBe('permanent');
  });

  it('maps aborts and timeouts to timeout', () => {
    const abort = Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
    expect(toConnectionError(abort).kind).toBe('timeout');
    expect(toConnectionError(new DOMException('The operation was aborted', 'AbortError')).kind).toBe('timeout');
    expect(toConnectionError(AbortSignal.abort().reason).kind).toBe('timeout');
    expect(toConnectionError(new DOMException('The operation timed out', 'TimeoutError')).kind).toBe('timeout');
  });

  it('maps "Not connected" to closed', () => {
    expect(toConnectionError(new Error('Not connected')).kind).toBe('closed');
  });

  it('maps anything else to transient, strings and objects included', () => {
    const plain = toConnectionError(new Error('something odd'));
    expect(plain.kind).toBe('transient');
    expect(plain.message).toBe('something odd');
    expect(toConnectionError('a string').kind).toBe('transient');
    expect(toConnectionError('a string').message).toBe('a string');
    expect(toConnectionError({ weird: true }).kind).toBe('transient');
    expect(toConnectionError(undefined).kind).toBe('transient');
  });

  it('passes a ConnectionError through unchanged', () => {
    const original = new ConnectionError('session-expired', 'gone');
    expect(toConnectionError(original)).toBe(original);
    expect(toConnectionError(original, { hadSession: false })).toBe(original);
    const permanent = new ConnectionError('transient', 'cannot start "x": command not found');
    expect(toConnectionError(permanent).kind).toBe('transient');
  });
});

describe('toConnectionError: errors no retry can fix are permanent', () => {
  it('maps spawn E2BIG, ENOTDIR, EISDIR and ENAMETOOLONG to permanent, saying why', () => {
    // E2BIG and ENOTDIR are thrown by spawn at once, with syscall "spawn" and no path.
    const e2big = toConnectionError(Object.assign(new Error('spawn E2BIG'), { code: 'E2BIG', errno: -7, syscall: 'spawn' }));
    expect(e2big.kind).toBe('permanent');
    expect(e2big.message).toBe('cannot start the server process: the arguments and environment are too long for the system (E2BIG)');
    expect(toConnectionError(Object.assign(new Error('spawn ENOTDIR'), { code: 'ENOTDIR', syscall: 'spawn', path: '/f/x' })).message).toBe(
      'cannot start "/f/x": a component of the path is not a directory (ENOTDIR)',
    );
    expect(toConnectionError(spawnError('EISDIR', '/tmp')).kind).toBe('permanent');
    expect(toConnectionError(spawnError('ENAMETOOLONG', 'x')).kind).toBe('permanent');
  });

  it('keeps resource exhaustion at spawn transient', () => {
    expect(toConnectionError(spawnError('EAGAIN', 'node')).kind).toBe('transient');
    expect(toConnectionError(spawnError('EMFILE', 'node')).kind).toBe('transient');
  });

  it('maps ERR_INVALID_ARG_VALUE (a NUL byte in an argument or env value) to permanent, without the value', () => {
    const nul = Object.assign(new TypeError("The argument 'args[1]' must be a string without null bytes. Received 'sec\\x00ret'"), { code: 'ERR_INVALID_ARG_VALUE' });
    const error = toConnectionError(nul);
    expect(error.kind).toBe('permanent');
    expect(error.message).toBe("invalid value, retrying cannot help: The argument 'args[1]' must be a string without null bytes (ERR_INVALID_ARG_VALUE)");
    expect(toConnectionError(Object.assign(new TypeError('The "x" argument must be of type string'), { code: 'ERR_INVALID_ARG_TYPE' })).kind).toBe('permanent');
  });

  it('maps the requests fetch refuses to send to permanent: invalid headers, URL credentials, unknown schemes', () => {
    expect(toConnectionError(new TypeError('Headers.append: "x\ny" is an invalid header value.')).kind).toBe('permanent');
    expect(toConnectionError(new TypeError('Headers.append: "A B" is an invalid header name.')).kind).toBe('permanent');
    const credentials = toConnectionError(new TypeError('Request cannot be constructed from a URL that includes credentials: http://u:pw@h/mcp?token=q'));
    expect(credentials.kind).toBe('permanent');
    expect(credentials.message).toBe('Request cannot be constructed from a URL that includes credentials: http://***:***@h/mcp?token=***');
    expect(toConnectionError(new TypeError('fetch failed', { cause: new Error('unknown scheme') })).kind).toBe('permanent');
  });
});

describe('toConnectionError: messages are redacted where they are born', () => {
  it('replaces the given secrets and masks URL credentials in the message', () => {
    const error = toConnectionError(new TypeError('Headers.append: "Bearer tok-123\n" is an invalid header value.'), { secrets: ['Bearer tok-123\n'] });
    expect(error.message).toBe('Headers.append: "***" is an invalid header value.');
    const fetchFailed = toConnectionError(new TypeError('fetch failed for http://user:pw@h:1/mcp?k=v', { cause: { code: 'ECONNREFUSED' } }));
    expect(fetchFailed.message).toBe('fetch failed for http://***:***@h:1/mcp?k=*** (ECONNREFUSED)');
  });

  it('redacts a ConnectionError passed in, keeping kind, cause and earlyExit', () => {
    const cause = new Error('raw');
    const original = new ConnectionError('closed', 'the server process exited: token tok-999 refused', { cause, earlyExit: true });
    const redacted = toConnectionError(original, { secrets: ['tok-999'] });
    expect(redacted).not.toBe(original);
    expect(redacted).toMatchObject({ kind: 'closed', earlyExit: true, message: 'the server process exited: token *** refused' });
    expect(redacted.cause).toBe(cause);
    expect(redacted.stack).not.toContain('tok-999');
  });

  it('keeps the original cause when it shows no secret, and stands in a redacted copy when it does', () => {
    const clean = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    expect(toConnectionError(clean, { secrets: ['tok-777'] }).cause).toBe(clean);
    const inner = Object.assign(new Error('header "Bearer tok-777" refused at http://u:pw@h/x'), { code: 'E_SOMETHING' });
    const leaky = new TypeError('request with tok-777 failed', { cause: inner });
    const error = toConnectionError(leaky, { secrets: ['Bearer tok-777', 'tok-777'] });
    const cause = error.cause as Error & { cause: Error & { code: string } };
    expect(cause).not.toBe(leaky);
    expect(cause).toMatchObject({ name: 'TypeError', message: 'request with *** failed' });
    expect(cause.stack).not.toContain('tok-777');
    expect(cause.cause).toMatchObject({ message: 'header "***" refused at http://***:***@h/x', code: 'E_SOMETHING' });
    expect(inspect(error, { depth: 10 })).not.toMatch(/tok-777|pw@/);
  });
});
