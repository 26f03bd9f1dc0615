// FleetCatalog over real in-process servers (memory targets, the SDK on both ends): what is
// advertised per state, what listeners are told, and a server's own list_changed.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { z } from 'zod';
import type { ServerDefinition } from '../../../src/config/load.js';
import { resolveSettings } from '../../../src/core/settings.js';
import { FleetCatalog } from '../../../src/fleet/catalog.js';
import { Supervisor } from '../../../src/fleet/supervisor.js';
import { connectionStateOf } from '../../../src/machines/connection.machine.js';
import type { ConnectionState } from '../../../src/core/states.js';
import { until } from '../../support/wait.js';

const FAST = resolveSettings({ healthyIntervalMs: 200, stableIntervalMs: 400, pingTimeoutMs: 500, initialBackoffMs: 20, maxBackoffMs: 50 });
type Change = { servers: string[]; kinds: string[] };

/** What one in-process server offers; `live` is the instance serving the current session. */
interface Fake {
  tools: string[];
  prompts?: string[];
  resources?: Array<{ name: string; uri: string }>;
  templates?: Array<{ name: string; uriTemplate: string }>;
  live?: McpServer;
}

function definition(id: string, fake: Fake): ServerDefinition {
  const createServer = (): McpServer => {
    const server = new McpServer({ name: `catalog-${id}`, version: '1.0.0' });
    for (const name of fake.tools) server.registerTool(name, { description: `${name} of ${id}`, inputSchema: { message: z.string() } }, async ({ message }) => ({ content: [{ type: 'text', text: message }] }));
    for (const name of fake.prompts ?? []) server.registerPrompt(name, { description: `prompt ${name}` }, () => ({ messages: [{ role: 'user', content: { type: 'text', text: name } }] }));
    for (const { name, uri } of fake.resources ?? []) server.registerResource(name, uri, {}, async () => ({ contents: [{ uri, text: `${id} ${uri}` }] }));
    for (const { name, uriTemplate } of fake.templates ?? []) {
      server.registerResource(name, new ResourceTemplate(uriTemplate, { list: undefined }), {}, async (uri) => ({ contents: [{ uri: uri.href, text: `${id} ${uri.href}` }] }));
    }
    fake.live = server;
    return server;
  };
  return { id, target: { type: 'memory', createServer }, priority: 0, dependsOn: [], required: true, disabled: false, settings: FAST };
}

const running: Array<{ supervisor: Supervisor; catalog: FleetCatalog }> = [];
afterEach(async () => {
  for (const { supervisor, catalog } of running.splice(0)) {
    catalog.stop();
    await supervisor.stop();
  }
});

const stateIs = (supervisor: Supervisor, id: string, state: ConnectionState) =>
  waitFor(supervisor.connection(id), (snapshot) => connectionStateOf(snapshot) === state, { timeout: 5_000 });

async function fleet(fakes: Record<string, Fake>, debounceMs = 30) {
  const supervisor = new Supervisor({ maxConcurrentReconnects: 4, servers: Object.entries(fakes).map(([id, fake]) => definition(id, fake)) });
  const catalog = new FleetCatalog(supervisor, { debounceMs });
  running.push({ supervisor, catalog });
  for (const id of Object.keys(fakes)) await stateIs(supervisor, id, 'healthy');
  await catalog.start();
  const changes: Change[] = [];
  catalog.onChange((change) => changes.push(change));
  return { supervisor, catalog, changes };
}

const names = (entries: Array<{ exposed: string }>) => entries.map((entry) => entry.exposed);

describe('FleetCatalog', () => {
  it('a listing that failed on a server that stays serving is tried again at its next probe', async () => {
    let lists = 0;
    const createServer = (): Server => {
      const server = new Server({ name: 'slow-start', version: '1.0.0' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, async () => {
        lists += 1;
        if (lists === 1) throw new McpError(ErrorCode.InternalError, 'not ready yet');
        return { tools: [{ name: 'late', inputSchema: { type: 'object' } }] };
      });
      return server;
    };
    const supervisor = new Supervisor({
      maxConcurrentReconnects: 4,
      servers: [{ id: 'slow', target: { type: 'memory', createServer }, priority: 0, dependsOn: [], required: true, disabled: false, settings: FAST }],
    });
    const catalog = new FleetCatalog(supervisor, { debounceMs: 10 });
    running.push({ supervisor, catalog });
    await stateIs(supervisor, 'slow', 'healthy');
    await catalog.start();
    expect(catalog.lastListError('slow')).toBeDefined();
    expect(catalog.isAdvertised('slow')).toBe(false);
    await supervisor.probe('slow');
    await until(() => catalog.isAdvertised('slow'), 'the tools listed again after the probe');
    expect(names(catalog.tools())).toEqual(['slow__late']);
    expect(lists).toBe(2);
  });

  it('advertises every serving server: fleet names namespaced and sorted, a scope keeps the own names', async () => {
    const { catalog } = await fleet({ files: { tools: ['write', 'read'] }, 'my.web': { tools: ['fetch'] } });
    expect(names(catalog.tools())).toEqual(['files__read', 'files__write', 'my_web__fetch']);
    expect(names(catalog.tools('files'))).toEqual(['read', 'write']);
    expect(catalog.tools('my.web')[0]).toMatchObject({ server: 'my.web', exposed: 'fetch', item: { name: 'fetch', description: 'fetch of my.web' } });
    expect(catalog.resolveTool('my_web__fetch')).toMatchObject({ server: 'my.web', name: 'fetch', tool: { name: 'fetch' } });
    expect(catalog.resolveTool('fetch', 'my.web')).toMatchObject({ server: 'my.web', name: 'fetch' });
    expect(catalog.resolveTool('fetch')).toBeUndefined();
    expect(catalog.resolveTool('nope', 'files')).toBeUndefined();
    expect(catalog.tools('nobody')).toEqual([]);
    expect(catalog.isAdvertised('files')).toBe(true);
  });

  it('gives colliding fleet names a hash suffix each, and never splits ids on the separator', async () => {
    const { catalog } = await fleet({ 'a.b': { tools: ['x'] }, a_b: { tools: ['x'] }, a: { tools: ['b__x'] }, a__b: { tools: ['y'] } });
    const exposed = names(catalog.tools());
    expect(new Set(exposed).size).toBe(4);
    expect(exposed.filter((name) => /^a_b__x_[a-z2-7]{8}$/.test(name))).toHaveLength(2);
    expect(exposed).toContain('a__b__x');
    expect(exposed).toContain('a__b__y');
    for (const entry of catalog.tools()) expect(catalog.resolveTool(entry.exposed)).toMatchObject({ server: entry.server, name: entry.item.name });
    expect(catalog.resolveTool('a__b__y')?.server).toBe('a__b');
    expect(catalog.resolveTool('a__b__x')?.server).toBe('a');
  });

  it('withdraws a server that stops (keeping what it knew) and advertises it again when it is back, telling listeners once each', async () => {
    const { supervisor, catalog, changes } = await fleet({ a: { tools: ['echo'] }, b: { tools: ['echo', 'add'] } });
    expect(changes).toEqual([]);

    supervisor.command('b', 'stop');
    await until(() => changes.length > 0, 'a notice of b leaving');
    expect(changes).toEqual([{ servers: ['b'], kinds: ['tools'] }]);
    expect(catalog.isAdvertised('b')).toBe(false);
    expect(names(catalog.tools())).toEqual(['a__echo']);
    expect(catalog.tools('b')).toEqual([]);
    // Last known: a call to b's tool finds its server, which can say why it is not there.
    expect(catalog.resolveTool('b__add')).toMatchObject({ server: 'b', name: 'add' });
    expect(catalog.resolveTool('add', 'b')).toMatchObject({ server: 'b', name: 'add' });

    supervisor.command('b', 'start');
    await until(() => changes.length > 1, 'a notice of b coming back');
    expect(changes[1]).toEqual({ servers: ['b'], kinds: ['tools'] });
    expect(names(catalog.tools())).toEqual(['a__echo', 'b__add', 'b__echo']);
  });

  it('lists a server again when it says its tools changed, and tells listeners only of a real change', async () => {
    const a: Fake = { tools: ['echo'] };
    const { supervisor, catalog, changes } = await fleet({ a, b: { tools: ['echo'] } });

    // A notice with nothing new behind it: listed again, nobody told.
    const before = supervisor.cachedTools('a')!.at;
    await a.live!.server.sendToolListChanged();
    await until(() => supervisor.cachedTools('a')!.at !== before, 'a listed again');
    await catalog.settled();
    // The next notice is about b alone: a's listing changed nothing.
    supervisor.command('b', 'stop');
    await until(() => changes.length > 0, 'a notice of b leaving');
    expect(changes).toEqual([{ servers: ['b'], kinds: ['tools'] }]);

    // A tool registered at run time: the SDK server sends notifications/tools/list_changed itself.
    a.live!.registerTool('added', { description: 'new' }, async () => ({ content: [{ type: 'text', text: 'added' }] }));
    await until(() => changes.length > 1, 'a notice of the new tool');
    expect(changes[1]).toEqual({ servers: ['a'], kinds: ['tools'] });
    expect(names(catalog.tools())).toEqual(['a__added', 'a__echo']);
    expect(catalog.lastListError('a')).toBeUndefined();
  });

  it('lists prompts and resources of servers that offer them, and routes resource reads', async () => {
    const { supervisor, catalog, changes } = await fleet({
      docs: {
        tools: ['search'],
        prompts: ['summarize'],
        resources: [
          { name: 'readme', uri: 'file:///readme.md' },
          { name: 'shared', uri: 'mem://shared' },
        ],
        templates: [{ name: 'item', uriTemplate: 'mem://items/{id}' }],
      },
      notes: { tools: ['write'], resources: [{ name: 'shared', uri: 'mem://shared' }] },
      plain: { tools: ['echo'] },
    });
    expect(catalog.prompts()).toEqual([expect.objectContaining({ server: 'docs', exposed: 'docs__summarize', item: expect.objectContaining({ name: 'summarize' }) })]);
    expect(names(catalog.prompts('docs'))).toEqual(['summarize']);
    expect(catalog.prompts('plain')).toEqual([]);
    expect(catalog.resolvePrompt('docs__summarize')).toEqual({ server: 'docs', name: 'summarize' });
    expect(catalog.resolvePrompt('summarize', 'docs')).toEqual({ server: 'docs', name: 'summarize' });
    expect(catalog.resolvePrompt('docs__nope')).toBeUndefined();

    // A URI two servers offer is shown in the prefixed form for each; a unique one as it is.
    expect(names(catalog.resources()).sort()).toEqual(['file:///readme.md', `mcp-supervisor://docs/${encodeURIComponent('mem://shared')}`, `mcp-supervisor://notes/${encodeURIComponent('mem://shared')}`].sort());
    expect(names(catalog.resources('notes'))).toEqual(['mem://shared']);
    expect(names(catalog.resourceTemplates())).toEqual(['mem://items/{id}']);
    expect(catalog.resolveResource('file:///readme.md')).toEqual({ server: 'docs', uri: 'file:///readme.md' });
    expect(catalog.resolveResource(`mcp-supervisor://notes/${encodeURIComponent('mem://shared')}`)).toEqual({ server: 'notes', uri: 'mem://shared' });
    expect(catalog.resolveResource('mem://shared', 'notes')).toEqual({ server: 'notes', uri: 'mem://shared' });
    expect(catalog.resolveResource('mem://items/42')).toEqual({ server: 'docs', uri: 'mem://items/42' });
    expect(catalog.resolveResource('mem://items/42', 'notes')).toBeUndefined();
    expect(catalog.resolveResource('mem://unknown')).toBeUndefined();

    // The supervisor reads and gets through the same sessions.
    const read = await supervisor.readResource('docs', 'mem://items/42');
    expect(read.contents[0]).toMatchObject({ uri: 'mem://items/42', text: 'docs mem://items/42' });
    const prompt = await supervisor.getPrompt('docs', 'summarize');
    expect(prompt.messages[0]?.content).toMatchObject({ type: 'text', text: 'summarize' });
    expect(await supervisor.listPrompts('plain')).toEqual([]);

    // Withdrawn with its server: no resource of docs is found while it is stopped.
    supervisor.command('docs', 'stop');
    await until(() => changes.length > 0, 'a notice of docs leaving');
    // notes keeps its prefixed URI (names are made over last-known lists): only docs changed.
    expect(changes).toEqual([{ servers: ['docs'], kinds: ['tools', 'prompts', 'resources'] }]);
    expect(catalog.resolveResource('mem://items/42')).toBeUndefined();
    expect(catalog.resolveResource('file:///readme.md')).toBeUndefined();
  });

  it('forgets a removed server, and lists one added later', async () => {
    const { supervisor, catalog, changes } = await fleet({ a: { tools: ['echo'] } });
    supervisor.add(definition('late', { tools: ['hello'] }));
    await stateIs(supervisor, 'late', 'healthy');
    await until(() => changes.length > 0, 'a notice of the added server');
    expect(changes[0]).toEqual({ servers: ['late'], kinds: ['tools'] });
    expect(names(catalog.tools())).toEqual(['a__echo', 'late__hello']);

    await supervisor.remove('late');
    await until(() => changes.length > 1, 'a notice of the removed server');
    expect(catalog.resolveTool('late__hello')).toBeUndefined();
    expect(names(catalog.tools())).toEqual(['a__echo']);
  });

  it('throws NotConnectedError for prompts and resources of a server that is not serving', async () => {
    const { supervisor } = await fleet({ a: { tools: ['echo'], prompts: ['p'] } });
    supervisor.command('a', 'stop');
    await stateIs(supervisor, 'a', 'stopped');
    await expect(supervisor.listPrompts('a')).rejects.toMatchObject({ name: 'NotConnectedError' });
    await expect(supervisor.getPrompt('a', 'p')).rejects.toMatchObject({ name: 'NotConnectedError' });
    await expect(supervisor.readResource('a', 'mem://x')).rejects.toMatchObject({ name: 'NotConnectedError' });
    await expect(supervisor.listResources('a')).rejects.toMatchObject({ name: 'NotConnectedError' });
    await expect(supervisor.listResourceTemplates('a')).rejects.toMatchObject({ name: 'NotConnectedError' });
  });
});
