import type { CallToolRequest, CallToolResult, Tool } from '@modelcontextprotocol/client';
import type { ConnectionError } from './errors.js';

/**
 * How a connection reaches its server: a child process's stdio, legacy HTTP+SSE, Streamable HTTP,
 * or an in-process server over the SDK's `InMemoryTransport`.
 */
export type TransportKind = 'stdio' | 'sse' | 'streamable-http' | 'memory';

/**
 * How a connection checks that its server still answers, by protocol era: `ping` for legacy
 * (2025-era) servers, `server/discover` for modern (2026-07-28) ones, which have no ping. A legacy
 * server that answers ping with -32601 gets `tools/list` instead. The strategies are in
 * `src/runtime/probes.ts`.
 */
export type ProbeKind = 'ping' | 'server/discover' | 'tools/list';

/**
 * The MCP protocol era a connection negotiated: `modern` is spec revision 2026-07-28 (no `ping`,
 * no `initialize`, no sessions; `server/discover`), `legacy` the 2025-era protocol.
 */
export type ProtocolEra = 'modern' | 'legacy';

/** Which era a connection asks for: `auto` negotiates (modern first, legacy as the fallback). */
export type EraPreference = 'auto' | ProtocolEra;

/** What the transport tells the actor on its own, without being asked. */
export type SessionEvent =
  | { type: 'transport.closed'; error: ConnectionError }
  | { type: 'session.expired'; error: ConnectionError };

/**
 * One live MCP connection attempt: a fresh SDK `Client` and transport. The machine only holds it
 * and hands it to its actors; every method here is I/O and lives in `src/runtime`.
 */
export interface McpSession {
  /** The transport this session runs over. */
  readonly transport: TransportKind;
  /** The child's pid for stdio, if one is running. */
  readonly pid: number | undefined;
  /** The era negotiated when this session connected. */
  readonly era: ProtocolEra;
  /** The name and version the server announced in the `initialize` handshake. */
  readonly serverInfo: { name: string; version: string } | undefined;
  /** One health check of this kind; rejects with a `ConnectionError` (or when `signal` aborts). */
  probe(kind: ProbeKind, signal: AbortSignal): Promise<void>;
  /** Every tool the server offers, all pages of `tools/list` followed. */
  listTools(signal?: AbortSignal): Promise<Tool[]>;
  /** Calls one tool; `timeoutMs` bounds the request. A result with `isError` resolves, it is not thrown. */
  callTool(params: CallToolRequest['params'], options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<CallToolResult>;
  /** Subscribes to transport facts; returns the unsubscribe function. */
  onEvent(listener: (event: SessionEvent) => void): () => void;
  /** Idempotent; resolves once the transport is closed and any child process has exited. */
  close(): Promise<void>;
  /** What snapshots and the inspector show instead of the live client. */
  toJSON(): Record<string, unknown>;
}
