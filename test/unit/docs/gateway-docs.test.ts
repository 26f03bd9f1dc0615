// docs/gateway.md's client snippets and name examples, checked so that they cannot rot silently:
// every JSON block parses, each client's snippet points at /mcp with an operator bearer token in
// the form that client reads, and the naming tables match src/core/tool-names.ts. The clients'
// own formats are the documentation's business (its Sources section); this checks our side.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exposedName, NameTable } from '../../../src/core/tool-names.js';

const docPath = fileURLToPath(new URL('../../../docs/gateway.md', import.meta.url));
const doc = await readFile(docPath, 'utf8');

/** An /mcp URL on loopback (the service's default bind), fleet-wide or one server's. */
const MCP_URL = /^http:\/\/(127\.0\.0\.1|localhost):\d+\/mcp(\/[A-Za-z0-9._-]+)?$/;

/** Every fenced ```json block of the document, in order. */
function jsonBlocks(text: string): string[] {
  return [...text.matchAll(/```json\n([\s\S]*?)\n```/g)].map((match) => match[1] ?? '');
}

/** The ```json block right after `<!-- client: name -->`, parsed. */
function snippet(name: string): Record<string, unknown> {
  const marker = `<!-- client: ${name} -->`;
  const at = doc.indexOf(marker);
  if (at < 0) throw new Error(`docs/gateway.md has no ${marker}`);
  const match = /^\s*```json\n([\s\S]*?)\n```/.exec(doc.slice(at + marker.length));
  if (!match) throw new Error(`no json block right after ${marker}`);
  return JSON.parse(match[1] ?? '') as Record<string, unknown>;
}

/** The rows of the markdown table right after `<!-- name -->`, cells trimmed and unquoted from backticks. */
function table(name: string): string[][] {
  const marker = `<!-- ${name} -->`;
  const at = doc.indexOf(marker);
  if (at < 0) throw new Error(`docs/gateway.md has no ${marker}`);
  const lines = doc.slice(at + marker.length).trimStart().split('\n');
  const rows: string[][] = [];
  for (const line of lines.slice(2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((cell) => cell.trim().replace(/^`(.*)`$/, '$1')));
  }
  return rows;
}

/** The one server entry of a client config's server map. */
function onlyServer(servers: unknown): [string, Record<string, unknown>] {
  const entries = Object.entries(servers as Record<string, Record<string, unknown>>);
  expect(entries).toHaveLength(1);
  return entries[0]!;
}

describe('docs/gateway.md', () => {
  it('every JSON block is valid JSON (no comments, no trailing commas)', () => {
    const blocks = jsonBlocks(doc);
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    for (const block of blocks) expect(() => JSON.parse(block), block).not.toThrow();
  });

  it('Cursor: mcpServers entry with url → /mcp and an Authorization header from ${env:…}', () => {
    const [key, server] = onlyServer(snippet('cursor').mcpServers);
    expect(server.url).toMatch(MCP_URL);
    const headers = server.headers as Record<string, string>;
    expect(headers.Authorization).toMatch(/^Bearer \$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/);
    // Cursor drops tools whose key + name reach 60 characters: the key must leave room.
    expect(key.length).toBeLessThanOrEqual(8);
    expect(server.command).toBeUndefined();
  });

  it('VS Code: servers (not mcpServers), type http, url → /mcp, Authorization from a password input', () => {
    const config = snippet('vscode');
    expect(config.mcpServers).toBeUndefined();
    const [, server] = onlyServer(config.servers);
    expect(server.type).toBe('http');
    expect(server.url).toMatch(MCP_URL);
    const authorization = (server.headers as Record<string, string>).Authorization;
    const id = /^Bearer \$\{input:([^}]+)\}$/.exec(authorization ?? '')?.[1];
    expect(id, authorization).toBeDefined();
    const inputs = config.inputs as Array<Record<string, unknown>>;
    expect(inputs.find((input) => input.id === id)).toMatchObject({ type: 'promptString', password: true, description: expect.any(String) });
  });

  it('Claude Desktop: serve-stdio with --config, or mcp-remote to /mcp with an Authorization header from env', () => {
    const [, stdio] = onlyServer(snippet('claude-desktop-stdio').mcpServers);
    const stdioArgs = stdio.args as string[];
    expect(stdioArgs).toContain('serve-stdio');
    expect(stdioArgs[stdioArgs.indexOf('--config') + 1]).toMatch(/^\//);

    const [, remote] = onlyServer(snippet('claude-desktop-remote').mcpServers);
    const args = remote.args as string[];
    expect(args).toContain('mcp-remote');
    expect(args.filter((arg) => MCP_URL.test(arg))).toHaveLength(1);
    const header = args[args.indexOf('--header') + 1] ?? '';
    // No space in the arg (clients that do not quote args split on it); the value comes from env.
    const variable = /^Authorization:\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(header)?.[1];
    expect(variable, header).toBeDefined();
    expect((remote.env as Record<string, string>)[variable!]).toMatch(/^Bearer /);
  });

  it('the name examples are what src/core/tool-names.ts makes', () => {
    const rows = table('tool-name-examples');
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const [server, tool, name] of rows) {
      expect(exposedName(server!, tool!), `${server} / ${tool}`).toBe(name);
      expect(name!.length).toBeLessThanOrEqual(64);
    }
  });

  it('the collision examples are what a NameTable of the colliding pair makes', () => {
    const rows = table('tool-name-collisions');
    expect(rows.length % 2).toBe(0);
    for (let index = 0; index < rows.length; index += 2) {
      const pair = rows.slice(index, index + 2).map(([server, name, exposed]) => ({ server: server!, name: name!, exposed: exposed! }));
      const names = new NameTable(pair);
      for (const entry of pair) expect(names.exposed(entry.server, entry.name), `${entry.server} / ${entry.name}`).toBe(entry.exposed);
    }
  });
});
