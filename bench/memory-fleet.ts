// The large fleets of the scale scenarios: N in-process servers (the SDK's McpServer over an
// in-memory transport) as fleet definitions, the supervisor options they run under, and the
// bare SDK clients connected to such servers that the references use.
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { ServerDefinition } from '../src/config/load.js';
import type { ConnectionSettings } from '../src/core/settings.js';
import type { CreateSupervisorOptions } from '../src/fleet/supervisor.js';

/** A fleet this size is not judged for flapping or panic: a storm there is the measurement. */
export const LARGE_FLEET_OPTIONS: CreateSupervisorOptions = { flap: { flapLimit: 1_000 }, panic: { threshold: 1 } };

/**
 * Options for a stand-in server of a large fleet: every one shares one JSON Schema validator.
 * The SDK's McpServer otherwise builds its own Ajv engine as it is constructed (~0.15 ms and
 * ~20 KiB of heap, per server and per reconnect): a cost of the server, which a fleet of
 * remote servers never puts on the supervisor's process. The bare fleet uses the same options,
 * so both sides of each comparison run the same servers. These servers only use it for
 * elicitation, which no scenario asks for: one shared validator would otherwise keep every schema
 * it compiled (Ajv caches them by object) for the life of the fleet.
 */
export function standInServerOptions(): { jsonSchemaValidator: AjvJsonSchemaValidator } {
  return { jsonSchemaValidator: new AjvJsonSchemaValidator() };
}

/** `count` in-process servers `s0`…; `onServer` sees each server as it is created (each connect makes a new one). */
export function memoryServers(count: number, settings: ConnectionSettings, name: string, onServer?: (server: McpServer) => void): ServerDefinition[] {
  const options = standInServerOptions();
  return Array.from({ length: count }, (_, index) => ({
    id: `s${index}`,
    target: {
      type: 'memory',
      createServer: () => {
        const server = new McpServer({ name: `${name}-${index}`, version: '1.0.0' }, options);
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

/**
 * `count` SDK v2 clients, each connected in-process to its own stand-in server, one at a time.
 * Make `serverOptions` before reading the heap, as the supervised fleet's are: the first
 * validator built holds ~120 KiB, over 1 KiB a connection at 100. On a failure, the clients
 * already connected are closed before it is thrown.
 */
export async function connectBareClients(count: number, name: string, serverOptions: ReturnType<typeof standInServerOptions>): Promise<Client[]> {
  const clients: Client[] = [];
  try {
    for (let index = 0; index < count; index += 1) {
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await new McpServer({ name: `${name}-${index}`, version: '1.0.0' }, serverOptions).connect(serverSide);
      const client = new Client({ name, version: '1.0.0' }, { capabilities: {} });
      await client.connect(clientSide);
      clients.push(client);
    }
    return clients;
  } catch (error) {
    await closeClients(clients);
    throw error;
  }
}

/** Closes every client, whatever each close does. */
export async function closeClients(clients: readonly Client[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
}
