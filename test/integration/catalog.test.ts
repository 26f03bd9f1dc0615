// A real server's own notifications/tools/list_changed reaches the fleet catalog, in both eras:
// legacy stdio (unsolicited), modern stdio (a listen stream opened for the catalog) and modern
// Streamable HTTP (the listen stream the session keeps anyway). The fixture's add_tool registers a
// tool at run time and says so.
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerTarget } from '../../src/core/target.js';
import { FleetCatalog } from '../../src/fleet/catalog.js';
import { createSupervisor } from '../../src/fleet/supervisor.js';
import type { Supervisor } from '../../src/fleet/supervisor.js';
import { startV2HttpFixture, v2ServerPath } from '../../fixtures/v2-http.js';
import type { V2HttpFixture } from '../../fixtures/v2-http.js';
import { waitForNoDescendants } from '../support/processes.js';
import { until } from '../support/wait.js';

let supervisor: Supervisor | undefined;
let catalog: FleetCatalog | undefined;
let http: V2HttpFixture | undefined;
afterEach(async () => {
  catalog?.stop();
  await supervisor?.stop();
  await http?.stop();
  supervisor = catalog = http = undefined;
  await waitForNoDescendants(5_000);
});

type Change = { servers: string[]; kinds: string[] };

async function fleetOf(servers: Record<string, ServerTarget | Record<string, unknown>>) {
  supervisor = createSupervisor({ mcpServers: servers as never });
  for (const id of Object.keys(servers)) await supervisor.ready(id, 20_000);
  catalog = new FleetCatalog(supervisor, { debounceMs: 50 });
  await catalog.start();
  const changes: Change[] = [];
  catalog.onChange((change) => changes.push(change));
  return { supervisor, catalog, changes };
}

describe('FleetCatalog with real servers', () => {
  it('hears a server add a tool, over stdio in both eras and over modern Streamable HTTP', async () => {
    http = await startV2HttpFixture({ era: 'modern' });
    const { supervisor, catalog, changes } = await fleetOf({
      legacy: { command: process.execPath, args: [v2ServerPath, 'stdio', 'dual'], era: 'legacy' },
      modern: { command: process.execPath, args: [v2ServerPath, 'stdio', 'modern'] },
      web: { type: 'streamable-http', url: http.mcpUrl },
    });
    expect(supervisor.connection('legacy').getSnapshot().context.era).toBe('legacy');
    expect(supervisor.connection('modern').getSnapshot().context.era).toBe('modern');
    expect(supervisor.connection('web').getSnapshot().context.era).toBe('modern');
    const fleetNames = () => catalog.tools().map((entry) => entry.exposed);
    expect(fleetNames()).toContain('legacy__echo');
    expect(fleetNames()).toContain('modern__echo');
    expect(fleetNames()).toContain('web__echo');

    for (const [id, name] of [
      ['legacy', 'fresh_legacy'],
      ['modern', 'fresh_modern'],
      ['web', 'fresh_web'],
    ] as const) {
      const seen = changes.length;
      const result = await supervisor.callTool(id, 'add_tool', { name });
      expect(result.content).toEqual([{ type: 'text', text: `added ${name}` }]);
      await until(() => changes.length > seen, `a notice of ${id}'s new tool`, 10_000);
      expect(changes.slice(seen)).toEqual([{ servers: [id], kinds: ['tools'] }]);
      expect(catalog.tools(id).map((entry) => entry.exposed)).toContain(name);
      expect(catalog.resolveTool(`${id}__${name}`)).toMatchObject({ server: id, name });
    }
    // And the tool works through the supervisor.
    expect((await supervisor.callTool('modern', 'fresh_modern', {})).content).toEqual([{ type: 'text', text: 'fresh_modern' }]);
  });

  it('keeps a killed stdio server’s last-known tools while it is away, and lists its new process when it is back', async () => {
    const { supervisor, catalog, changes } = await fleetOf({ files: { command: process.execPath, args: [v2ServerPath, 'stdio', 'dual'] } });
    const pid = supervisor.connection('files').getSnapshot().context.session!.pid!;
    process.kill(pid, 'SIGKILL');
    await until(() => !catalog.isAdvertised('files'), 'files withdrawn', 5_000);
    expect(catalog.tools()).toEqual([]);
    expect(catalog.resolveTool('files__echo')).toMatchObject({ server: 'files', name: 'echo' });
    await until(() => catalog.isAdvertised('files'), 'files advertised again', 15_000);
    await catalog.settled();
    expect(catalog.tools().map((entry) => entry.exposed)).toContain('files__echo');
    expect(supervisor.connection('files').getSnapshot().context.session!.pid).not.toBe(pid);
    // Told of both, or of neither when it came back within one debounce: never of a change that was not.
    for (const change of changes) expect(change).toEqual({ servers: ['files'], kinds: ['tools'] });
  });
});
