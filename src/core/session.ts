import type { CallToolRequest, CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ConnectionError } from './errors.js';

export type TransportKind = 'stdio' | 'sse' | 'streamable-http' | 'memory';

/**
 * How a connection checks that its server still answers. `ping` is the default; a server that
 * answers ping with -32601 gets `tools/list` instead. New protocol revisions (`server/discover`)
 * plug in as new kinds in `src/runtime/probes.ts`.
 */
export type ProbeKind = 'ping' | 'tools/list';

/** What the transport tells the actor on its own, without being asked. */
export type SessionEvent =
  | { type: 'transport.closed'; error: ConnectionError }
  | { type: 'session.expired'; error: ConnectionError };

/**
 * One live MCP connection attempt: a fresh SDK `Client` and transport. The machine only holds it
 * and hands it to its actors; every method here is I/O and lives in `src/runtime`.
 */
export interface McpSession {
  readonly transport: TransportKind;
  /** The child's pid for stdio, if one is running. */
  readonly pid: number | undefined;
  readonly serverInfo: { name: string; version: string } | undefined;
  probe(kind: ProbeKind, signal: AbortSignal): Promise<void>;
  listTools(signal?: AbortSignal): Promise<Tool[]>;
  callTool(params: CallToolRequest['params'], options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<CallToolResult>;
  /** Subscribes to transport facts; returns the unsubscribe function. */
  onEvent(listener: (event: SessionEvent) => void): () => void;
  /** Idempotent; resolves once the transport is closed and any child process has exited. */
  close(): Promise<void>;
  /** What snapshots and the inspector show instead of the live client. */
  toJSON(): Record<string, unknown>;
}
