import type { CallToolResult } from '@modelcontextprotocol/client';
import { ConnectionError } from '../core/errors.js';
import { validTraceContext } from '../core/trace-context.js';
import type { TraceContext } from '../core/trace-context.js';
import { UnknownServerError } from '../fleet/errors.js';
import { RideError } from '../fleet/ride.js';
import type { Supervisor } from '../fleet/supervisor.js';
import { ApiError } from './errors.js';

/** How old a cached tool list may be before a name missing from it is looked up again. */
const RELIST_AFTER_MS = 5_000;

function unknownTool(id: string, name: string): ApiError {
  return new ApiError(404, 'unknown_tool', `server "${id}" has no tool ${JSON.stringify(name)}`, { tool: name });
}

/**
 * 404 `unknown_tool`, without calling, when the server's tool list is known and lacks `name`. A
 * list older than a few seconds is read again first, so a tool the server added since is found
 * (at most one listing per server every few seconds, whatever the callers send). When the list
 * is not known, or cannot be read now, the call goes ahead and the server decides. Returns a
 * promise only when the list must be read again (or the call refused); otherwise nothing to await.
 */
export function ensureKnownTool(supervisor: Supervisor, id: string, name: string): Promise<void> | undefined {
  const cached = supervisor.cachedTools(id);
  // The common case decides without a promise: the caller awaits only what is returned.
  if (!cached || cached.tools.some((tool) => tool.name === name)) return undefined;
  return relistOrRefuse(supervisor, id, name, cached.at);
}

async function relistOrRefuse(supervisor: Supervisor, id: string, name: string, listedAt: number): Promise<void> {
  let cached: ReturnType<Supervisor['cachedTools']>;
  if (Date.now() - listedAt > RELIST_AFTER_MS) {
    try {
      await supervisor.listTools(id);
    } catch {
      return;
    }
    cached = supervisor.cachedTools(id);
    if (!cached || cached.tools.some((tool) => tool.name === name)) return;
  }
  throw unknownTool(id, name);
}

/**
 * What servers answer for a tool they do not have. The MCP SDK's `McpServer` (and so
 * server-everything and our fixtures) answers `isError: true` with the text
 * `MCP error -32602: Tool <name> not found`; a low-level `Server` may throw that as a JSON-RPC
 * error (-32602), and hand-written ones often say `Unknown tool: <name>`. Only a message naming
 * the very tool asked for counts.
 */
function saysUnknown(message: string, name: string): boolean {
  const text = message.trim().replace(/^(?:MCP error -?\d+:\s*)+/, '');
  return text === `Tool ${name} not found` || new RegExp(`^Unknown tool:?\\s*["'\`]?${escapeRegExp(name)}["'\`]?\\.?$`, 'i').test(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A tool call's result that is the server saying the tool does not exist, as 404 `unknown_tool`; else the result. */
export function unknownToolResult(result: CallToolResult, id: string, name: string): CallToolResult {
  if (result.isError !== true || result.content.length !== 1) return result;
  const [only] = result.content;
  if (only?.type === 'text' && saysUnknown(only.text, name)) throw unknownTool(id, name);
  return result;
}

/** A tool call's error that is the server saying the tool does not exist, as 404 `unknown_tool`; else the error. */
function unknownToolError(error: unknown, id: string, name: string): unknown {
  const protocol = error instanceof ConnectionError && (error.kind === 'transient' || error.kind === 'method-not-found');
  return protocol && saysUnknown(error.message, name) ? unknownTool(id, name) : error;
}

/**
 * Whether a call lost in flight may be sent again: the server's cached tool list says the tool is
 * read-only or idempotent (MCP annotations, hints the server gives). Not when the list is unknown.
 */
export function retryableTool(supervisor: Supervisor, id: string, name: string): boolean {
  const hints = supervisor.cachedTools(id)?.tools.find((tool) => tool.name === name)?.annotations;
  return hints?.readOnlyHint === true || hints?.idempotentHint === true;
}

/**
 * A ride's failure as the REST API answers it, with the codes it always had: 503 `not_connected`
 * (with the state) or `connection_lost`, 504 `timeout`, 502 `upstream_error` (404 `unknown_tool`
 * when that is the server saying it has no such tool, 404 `not_found` for a server removed during
 * the call). The messages are the ride's: they say why (the server's last error, a quarantine, no re-send).
 */
export function restErrorOf(error: unknown, id: string, name: string): unknown {
  if (!(error instanceof RideError)) return error;
  switch (error.code) {
    case 'not_serving':
      if (error.cause instanceof UnknownServerError) return error.cause;
      return new ApiError(503, 'not_connected', error.message, { state: error.state ?? 'unknown' });
    case 'connection_lost':
      return new ApiError(503, 'connection_lost', error.message, { state: error.state, retried: error.retried });
    case 'timeout':
      return new ApiError(504, 'timeout', error.message);
    case 'upstream_error':
      return unknownToolError(error.cause, id, name);
    case 'aborted':
      // The caller is gone: nobody reads this answer; the SDK's own abort is a timeout, as before.
      return error.cause instanceof ConnectionError ? error.cause : new ApiError(504, 'timeout', error.message);
  }
}

/**
 * The W3C trace context of a proxied call (its `traceparent` and `tracestate` headers), carried
 * on to the server; none when there is no `traceparent` or it is malformed.
 */
export function callerTraceContext(headers: Headers): TraceContext | undefined {
  const traceparent = headers.get('traceparent');
  return traceparent === null ? undefined : validTraceContext(traceparent, headers.get('tracestate'));
}
