// The large fleets of the scale scenarios: N in-process servers (the SDK's McpServer over an
// in-memory transport) as fleet definitions, and the supervisor options they run under.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ServerDefinition } from '../src/config/load.js';
import type { ConnectionSettings } from '../src/core/settings.js';
import type { CreateSupervisorOptions } from '../src/fleet/supervisor.js';

/** A fleet this size is not judged for flapping or panic: a storm there is the measurement. */
export const LARGE_FLEET_OPTIONS: CreateSupervisorOptions = { flap: { flapLimit: 1_000 }, panic: { threshold: 1 } };

/** `count` in-process servers `s0`…; `onServer` sees each server as it is created (each connect makes a new one). */
export function memoryServers(count: number, settings: ConnectionSettings, name: string, onServer?: (server: McpServer) => void): ServerDefinition[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `s${index}`,
    target: {
      type: 'memory',
      createServer: () => {
        const server = new McpServer({ name: `${name}-${index}`, version: '1.0.0' });
        onServer?.(server);
        return server;
      },
    },
    priority: 0,
    dependsOn: [],
    required: true,
    disabled: false,
    settings,
  }));
}
