import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { StdioServerParams } from './transports/stdio.js';

/** An MCP server in this process, as the SDK's `McpServer` and `Server` both are. */
export interface InProcessServer {
  connect(transport: Transport): Promise<void>;
  close(): Promise<void>;
}

/** Where one MCP server is and how to reach it; the transport part of a config entry. */
export type ServerTarget =
  | ({ type: 'stdio' } & StdioServerParams)
  | { type: 'sse'; url: string; headers?: Record<string, string> }
  | { type: 'streamable-http'; url: string; headers?: Record<string, string> }
  /**
   * A server in this process over the SDK's `InMemoryTransport`, for embedding, tests and
   * benchmarks of large fleets. `createServer` runs once per attempt: a fresh server per session.
   */
  | { type: 'memory'; createServer: () => InProcessServer | Promise<InProcessServer> };
