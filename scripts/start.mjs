// `npm start`: the service on a fresh copy of examples/mcp.json in .mcp-supervisor/ (ignored by
// git), so servers registered or removed while trying the API (written back to the config file)
// never change the tracked example. Runs the TypeScript sources in this process (node --import
// tsx), so a Ctrl-C reaches one supervisor, not a chain of wrappers.
import { copyFileSync, mkdirSync } from 'node:fs';

const copy = '.mcp-supervisor/mcp.json';
mkdirSync('.mcp-supervisor', { recursive: true });
copyFileSync('examples/mcp.json', copy);
process.stderr.write(`npm start: running on ${copy}, a fresh copy of examples/mcp.json (servers you register through the API are written there)\n`);
process.argv.splice(2, 0, '--config', copy);
await import('../src/service/cli.ts');
