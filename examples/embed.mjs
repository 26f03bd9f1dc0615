// Embedding mcp-supervisor in your own Node app: supervise two stdio MCP servers, watch every
// event, wait until both are healthy, call a tool on each, and shut down cleanly.
//
//   npm run example:embed        (= node --import tsx examples/embed.mjs; works from any directory)
import { fileURLToPath } from 'node:url';
import { createSupervisor } from 'mcp-supervisor';

const path = (relative) => fileURLToPath(new URL(relative, import.meta.url));

const supervisor = createSupervisor({
  supervisor: {
    maxConcurrentReconnects: 4,
    health: { healthyIntervalMs: 1000, stableIntervalMs: 5000, pingTimeoutMs: 2000 },
  },
  mcpServers: {
    everything: {
      command: process.execPath,
      args: [path('../node_modules/@modelcontextprotocol/server-everything/dist/index.js'), 'stdio'],
      priority: 10,
    },
    // Fast for its first 10 s, then slow, then frozen: we are done long before.
    flaky: { command: process.execPath, args: [path('./servers/flaky-server.mjs')] },
  },
});

// One stream for everything: transitions, probes, admissions, quarantines, panics.
supervisor.subscribe((event) => {
  const { type, id = '', ...rest } = event;
  console.log(`event ${type} ${id} ${JSON.stringify(rest)}`);
});

await Promise.all([supervisor.ready('everything'), supervisor.ready('flaky')]);

for (const id of ['everything', 'flaky']) {
  const result = await supervisor.callTool(id, 'echo', { message: `hello ${id}` });
  console.log(`result ${id}: ${result.content.map((part) => part.text).join('')}`);
}

for (const view of supervisor.views()) {
  console.log(`view ${view.id}: ${view.state}, score ${view.quality.score}, attempts ${view.attempts}`);
}

// Stops every connection and waits until every server process has exited.
await supervisor.stop();
