// Planted secrets: a config whose servers carry distinct secrets in every place a secret can be
// (URL userinfo and query, env values, header values, ${VAR} values from the CLI's environment
// in args, command, URL and headers), some of them failing so the secrets would be in error
// messages. Every GET route, a window of /events, the CLI's own output and the inspector's
// WebSocket messages are searched for every one of them: none may appear.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fixtureServerPath, startHttpFixture } from '../../fixtures/http-fixture.js';
import type { HttpFixture } from '../../fixtures/http-fixture.js';
import { describePids, waitForNoDescendants } from '../support/processes.js';
import { freePort } from '../support/ports.js';
import { FAST_HEALTH, killAllClis, startCli, waitUntil } from '../support/cli.js';
import type { Cli } from '../support/cli.js';
import { openEvents } from '../support/sse.js';

/** A distinct, greppable secret. */
const planted = (what: string): string => `planted-${what}-${randomBytes(6).toString('hex')}`;

const SECRETS = {
  apiToken: planted('api-token'),
  urlUser: planted('url-user'),
  urlPassword: planted('url-pass'),
  urlQuery: planted('url-query'),
  urlQueryOk: planted('url-query-ok'),
  urlQueryUnreachable: planted('url-query-unreachable'),
  sseUser: planted('sse-user'),
  ssePassword: planted('sse-pass'),
  envLiteral: planted('env-literal'),
  headerLiteral: planted('header-literal'),
  varInArgs: planted('var-args'),
  varInBadArgs: planted('var-bad-args'),
  varInCommand: `/nonexistent/${planted('var-command')}`,
  varInEnv: planted('var-env'),
  varInHeader: planted('var-header'),
  varInUrlPassword: planted('var-url-pass'),
};

const ENV = {
  PLANTED_ARGS: SECRETS.varInArgs,
  PLANTED_BAD_ARGS: SECRETS.varInBadArgs,
  PLANTED_COMMAND: SECRETS.varInCommand,
  PLANTED_ENV: SECRETS.varInEnv,
  PLANTED_HEADER: SECRETS.varInHeader,
  PLANTED_URL_PASS: SECRETS.varInUrlPassword,
};

const auth = { authorization: `Bearer ${SECRETS.apiToken}` };

/** Every text the service showed anyone, by where it came from. */
const seen: Array<{ where: string; text: string }> = [];

async function get(cli: Cli, path: string, headers: Record<string, string> = auth): Promise<{ status: number; text: string }> {
  const response = await fetch(`${cli.url}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  seen.push({ where: `GET ${path}${headers === auth ? '' : ' (no token)'}`, text });
  return { status: response.status, text };
}

let dir: string;
let fixture: HttpFixture;
let cli: Cli;
let socket: WebSocket | undefined;
const inspectorMessages: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-supervisor-secrets-'));
  fixture = await startHttpFixture();
  const closedPort = await freePort();
  const mcpPath = new URL(fixture.mcpUrl).pathname;
  const config = {
    supervisor: { maxConcurrentReconnects: 8, health: FAST_HEALTH },
    mcpServers: {
      // Healthy stdio: a ${VAR} in its args (node's harmless --title), env values literal and from ${VAR}.
      'stdio-ok': {
        command: process.execPath,
        args: ['--title=${PLANTED_ARGS}', fixtureServerPath, 'stdio'],
        env: { API_KEY: SECRETS.envLiteral, FROM_VAR: '${PLANTED_ENV}' },
      },
      // Healthy Streamable HTTP: a query value, header values literal and from ${VAR}.
      'http-ok': {
        type: 'streamable-http',
        url: `${fixture.mcpUrl}?key=${SECRETS.urlQueryOk}`,
        headers: { Authorization: 'Bearer ${PLANTED_HEADER}', 'X-Api-Key': SECRETS.headerLiteral },
      },
      // Fails for good: fetch refuses URLs with credentials, and the error quotes the URL.
      'http-credentials': {
        type: 'streamable-http',
        url: `http://${SECRETS.urlUser}:\${PLANTED_URL_PASS}@127.0.0.1:${closedPort}${mcpPath}?token=${SECRETS.urlQuery}`,
      },
      'sse-credentials': { type: 'sse', url: `http://${SECRETS.sseUser}:${SECRETS.ssePassword}@127.0.0.1:${closedPort}/sse` },
      // Fails again and again: nothing listens there.
      'http-unreachable': {
        type: 'streamable-http',
        url: `http://127.0.0.1:${closedPort}${mcpPath}?token=${SECRETS.urlQueryUnreachable}`,
        headers: { Authorization: 'Bearer ${PLANTED_HEADER}' },
      },
      // The fixture refuses the unknown argument, printing it on stderr, and exits: a crash loop with logs.
      'stdio-chatty': { command: process.execPath, args: [fixtureServerPath, 'stdio', '--token=${PLANTED_BAD_ARGS}'] },
      // ENOENT names the command, which came from ${VAR}.
      'stdio-missing': { command: '${PLANTED_COMMAND}' },
    },
  };
  const configPath = join(dir, 'planted.json');
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  cli = await startCli(['--config', configPath, '--port', '0', '--log-level', 'trace', '--inspect', '--inspect-port', '0'], {
    ...ENV,
    MCP_SUPERVISOR_TOKEN: SECRETS.apiToken,
  });
  const inspectorUrl = await waitUntil(() => /statecharts: open (http:\/\/\S+)/.exec(cli.stderr())?.[1], 5_000, () => cli.stderr());
  // As a browser page would (the printed address carries the bridge's access key, if it needs one).
  socket = new WebSocket(inspectorUrl.replace(/^http/, 'ws'));
  socket.on('message', (data) => inspectorMessages.push(data.toString()));
  socket.on('error', () => undefined);
});

afterAll(async () => {
  socket?.terminate();
  if (cli && cli.child.exitCode === null && cli.child.signalCode === null) {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
  killAllClis();
  await fixture?.stop();
  const left = await waitForNoDescendants(10_000);
  await rm(dir, { recursive: true, force: true });
  expect(left, describePids(left)).toEqual([]);
});

describe('planted secrets never leave the service', () => {
  it('the fleet reaches the states the plants were made for', async () => {
    // From the start of the history.
    const events = await openEvents(cli.url, auth, '?lastEventId=0');
    try {
      await waitUntil(
        async () => {
          const actors = (JSON.parse((await get(cli, '/actors')).text) as { actors: Array<{ id: string; state: string; lastError: unknown }> }).actors;
          const byId = Object.fromEntries(actors.map((actor) => [actor.id, actor]));
          return (
            byId['stdio-ok']?.state === 'healthy' &&
            byId['http-ok']?.state === 'healthy' &&
            byId['http-credentials']?.state === 'failed' &&
            byId['sse-credentials']?.state === 'failed' &&
            byId['stdio-missing']?.state === 'failed' &&
            byId['http-unreachable']?.lastError !== null &&
            byId['stdio-chatty']?.lastError !== null
          );
        },
        20_000,
        () => seen.at(-1)?.text ?? 'no /actors yet',
      );
      await waitUntil(async () => (await get(cli, '/actors/stdio-chatty/logs')).text.includes('unknown argument'), 10_000, () => seen.at(-1)?.text ?? '');
      // A command and a tool call, so their events are in the window too.
      const reconnect = await fetch(`${cli.url}/actors/http-credentials/reconnect`, { method: 'POST', headers: auth });
      expect(reconnect.status).toBeLessThan(300);
      const call = await fetch(`${cli.url}/actors/http-ok/tools/echo`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'hello' }),
      });
      seen.push({ where: 'POST /actors/http-ok/tools/echo', text: await call.text() });
      expect(call.status).toBe(200);
      await waitUntil(
        () => events.raw().includes('"call.completed"') && events.raw().includes('"probe.completed"') && (events.raw().match(/"id":"http-credentials"[^\n]*"to":"failed"/g) ?? []).length >= 2,
        10_000,
        () => events.raw(),
      );
    } finally {
      await events.close();
      seen.push({ where: '/events', text: events.raw() });
    }
  });

  it('every GET route answers without them', async () => {
    const ids = ['stdio-ok', 'http-ok', 'http-credentials', 'sse-credentials', 'http-unreachable', 'stdio-chatty', 'stdio-missing'];
    await get(cli, '/actors');
    for (const id of ids) {
      expect((await get(cli, `/actors/${id}`)).status).toBe(200);
      await get(cli, `/actors/${id}/tools`);
      expect((await get(cli, `/actors/${id}/logs`)).status).toBe(200);
    }
    await get(cli, '/health');
    await get(cli, '/health', {});
    expect((await get(cli, '/metrics')).status).toBe(200);
    expect((await get(cli, '/openapi.json')).status).toBe(200);
    // The errors are there, in words, with *** where the secrets were.
    const detail = JSON.parse((await get(cli, '/actors/http-credentials')).text) as { lastError: { message: string }; snapshot: { context: { target: { url: string } } } };
    expect(detail.lastError.message).toContain('http://***:***@127.0.0.1:');
    expect(detail.snapshot.context.target.url).toMatch(/^http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+\/mcp\?token=\*\*\*$/);
    const missing = JSON.parse((await get(cli, '/actors/stdio-missing')).text) as { lastError: { message: string }; snapshot: { context: { target: { command: string } } } };
    expect(missing.lastError.message).toBe('cannot start "***": command not found (ENOENT)');
    expect(missing.snapshot.context.target.command).toBe('${PLANTED_COMMAND}');
    const ok = JSON.parse((await get(cli, '/actors/stdio-ok')).text) as { snapshot: { context: { target: { args: string[]; envKeys: string[] } } } };
    expect(ok.snapshot.context.target).toMatchObject({ args: ['--title=${PLANTED_ARGS}', fixtureServerPath, 'stdio'], envKeys: ['API_KEY', 'FROM_VAR'] });
    expect((await get(cli, '/actors/stdio-chatty/logs')).text).toContain('unknown argument: --token=***');
  });

  it('latencies are rounded to the microsecond in views and events', () => {
    const numbers = seen
      .filter((entry) => entry.where === 'GET /actors' || entry.where === '/events')
      .flatMap((entry) => [...entry.text.matchAll(/"(?:p50|p95|latencyMs|waitedMs)":(-?\d+(?:\.\d+)?)/g)].map((match) => match[1]!));
    expect(numbers.length).toBeGreaterThan(3);
    for (const number of numbers) expect((number.split('.')[1] ?? '').length, number).toBeLessThanOrEqual(3);
  });

  it('the inspector sees every statechart, and none of them', async () => {
    await waitUntil(
      () => inspectorMessages.some((message) => message.includes('"@xstate.snapshot"') && message.includes('http-credentials') && message.includes('***')),
      10_000,
      () => `inspector messages: ${inspectorMessages.length}`,
    );
    seen.push({ where: 'inspector', text: inspectorMessages.join('\n') });
  });

  it('the CLI logs and prints none of them, up to its shutdown', async () => {
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toContain('"state.changed"');
    seen.push({ where: 'stdout (log)', text: cli.stdout() }, { where: 'stderr', text: cli.stderr() });
  });

  it.each(Object.entries(SECRETS))('%s appears nowhere', (_name, secret) => {
    // Where it was found, with some context to tell what carried it.
    const found = seen
      .filter((entry) => entry.text.includes(secret))
      .map((entry) => `${entry.where}: …${entry.text.slice(Math.max(0, entry.text.indexOf(secret) - 300), entry.text.indexOf(secret) + secret.length + 50)}…`);
    expect(found, `${secret} found`).toEqual([]);
    expect(seen.length).toBeGreaterThan(30);
  });
});
