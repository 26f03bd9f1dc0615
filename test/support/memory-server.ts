// A fleet definition of one in-process SDK server (the `memory` target), for tests that need a
// real supervisor without child processes.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ServerDefinition } from '../../src/config/load.js';
import type { ConnectionSettings } from '../../src/core/settings.js';

/** Server `id` as an in-process SDK server; `disabled` lists it without starting it. */
export function memoryServer(id: string, settings: ConnectionSettings, disabled = false): ServerDefinition {
  return {
    id,
    target: { type: 'memory', createServer: () => new McpServer({ name: id, version: '1.0.0' }) },
    priority: 0,
    dependsOn: [],
    required: true,
    disabled,
    settings,
  };
}
