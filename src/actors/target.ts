import type { StdioServerParams } from './transports/stdio.js';

/** Where one MCP server is and how to reach it; the transport part of a config entry. */
export type ServerTarget =
  | ({ type: 'stdio' } & StdioServerParams)
  | { type: 'sse'; url: string; headers?: Record<string, string> }
  | { type: 'streamable-http'; url: string; headers?: Record<string, string> };
