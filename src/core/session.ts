import type { CallToolRequest, CallToolResult, GetPromptResult, Prompt, ReadResourceResult, Resource, ResourceTemplateType as ResourceTemplate, Tool } from '@modelcontextprotocol/client';
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

/** Which of a server's lists changed (`notifications/<kind>/list_changed`). */
export type ListKind = 'tools' | 'prompts' | 'resources';

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
  /**
   * Tells `listener` when the server says its tools, prompts or resources changed (its own
   * `notifications/<kind>/list_changed`; on a modern session over the `subscriptions/listen` stream).
   * Kept apart from {@link McpSession.onEvent}: a list change is no health fact for the machine.
   * Returns the unsubscribe function. Optional, so sessions made elsewhere still type-check.
   */
  onListChanged?(listener: (kind: ListKind) => void): () => void;
  /** Every prompt the server offers, all pages followed; empty when it offers none. */
  listPrompts?(signal?: AbortSignal): Promise<Prompt[]>;
  /** Gets one prompt with its arguments filled in; `timeoutMs` bounds the request. */
  getPrompt?(params: { name: string; arguments?: Record<string, string> }, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<GetPromptResult>;
  /** Every resource the server offers, all pages followed; empty when it offers none. */
  listResources?(signal?: AbortSignal): Promise<Resource[]>;
  /** Every resource template the server offers, all pages followed; empty when it offers none. */
  listResourceTemplates?(signal?: AbortSignal): Promise<ResourceTemplate[]>;
  /** Reads one resource; `timeoutMs` bounds the request. */
  readResource?(params: { uri: string }, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<ReadResourceResult>;
  /** What the server said it offers at connect (capabilities), so the catalog lists only what exists. */
  readonly capabilities?: { tools?: boolean; prompts?: boolean; resources?: boolean };
  /**
   * Subscribes to transport facts; returns the unsubscribe function. A session reports at most
   * one (it is over then), and none once `close()` was called.
   */
  onEvent(listener: (event: SessionEvent) => void): () => void;
  /** Idempotent; resolves once the transport is closed and any child process has exited. */
  close(): Promise<void>;
  /** What snapshots and the inspector show instead of the live client. */
  toJSON(): Record<string, unknown>;
}
