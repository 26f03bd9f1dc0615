// The fleet as one MCP server on stdin/stdout (`mcp-supervisor serve-stdio`), for clients that only
// launch stdio servers (Claude Desktop). The SDK's serveStdio picks the era from the client's
// opening; one call of `sendToolListChanged()` reaches either era (modern: the listen stream).
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { Server, Transport } from '@modelcontextprotocol/server';
import { sendListChanged } from './http.js';
import type { GatewayServers } from './server.js';

/** Options of {@link serveGatewayStdio}. */
export interface GatewayStdioOptions {
  /** The transport; default one on `process.stdin`/`process.stdout`. */
  transport?: Transport;
  /** Told of errors the SDK reports out of band. */
  onerror?: (error: Error) => void;
}

/** The running stdio gateway. */
export interface GatewayStdio {
  /** Closes the connection and stops notifying. */
  close(): Promise<void>;
}

/**
 * Serves the whole fleet (tools named `<server>__<tool>`) on stdio, both eras, and tells the
 * client whenever the catalog changes.
 */
export function serveGatewayStdio(servers: GatewayServers, options: GatewayStdioOptions = {}): GatewayStdio {
  // serveStdio may build two instances (a discarded server/discover probe, then the real one):
  // every live one is told of changes; a closed one leaves the set.
  const live = new Set<Server>();
  const handle = serveStdio(
    () => {
      const server = servers.create('');
      live.add(server);
      const previous = server.onclose;
      server.onclose = () => {
        live.delete(server);
        previous?.();
      };
      return server;
    },
    { legacy: 'serve', ...(options.transport ? { transport: options.transport } : {}), ...(options.onerror ? { onerror: options.onerror } : {}) },
  );
  const unsubscribe = servers.catalog.onChange(({ kinds }) => {
    for (const server of live) void sendListChanged(server, kinds);
  });
  return {
    async close() {
      unsubscribe();
      live.clear();
      await handle.close();
    },
  };
}
