// The MCP gateway (`/mcp`, docs/gateway.md) next to what an agent would otherwise hold, same
// stdio fixture server, same run:
//   (a) overhead: `echo` through `/mcp` (an SDK v2 client over Streamable HTTP, both protocol eras)
//       against a direct SDK v2 client on its own copy of the server (stdio), and against the REST
//       proxy (`POST /actors/:id/tools/echo`) for scale; every client in a worker thread of its own
//       (its own event loop, like an agent process), 1 and 16 calls in flight;
//   (b) the first call after a SIGKILL of the server's process, through `/mcp` (the same client
//       session, nothing done on the client side), `@mastra/mcp` (which reconnects and re-sends on
//       "Not connected"), a plain SDK client (which never recovers) and `supervisor.callTool` (the
//       library: refuses at once while reconnecting, the caller retries). Each caller calls right
//       after the kill and again every POLL_MS until a call succeeds or CAP_MS passes: the rows give
//       the first answer of any kind and the first success.
// The host's load average is printed with the results: the other numbers mean little without it.
// The SDK v2 client's 2025-era Streamable HTTP transport adds an abort listener per POST to one
// long-lived signal (undici drops them only when each request is collected), so a run prints
// MaxListenersExceededWarning from the client side; the modern era does not. Not the gateway's.
//
// What @mastra/mcp does (node_modules/@mastra/mcp/dist/index.js, version in package-lock.json):
// its tool wrapper catches errors whose message contains "not connected", "connection closed",
// "fetch failed", "http 404" … (`isReconnectableMCPError`), reconnects (`forceReconnect`, a new
// process for stdio) and sends the call once more, whatever the tool's annotations say. It has no
// health checks: a hung (SIGSTOPped) server is only noticed when the call's timeout runs out.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { startService } from '../../src/service/service.js';
import type { RunningService } from '../../src/service/service.js';
import type { FleetEvent } from '../../src/fleet/events.js';
import { alive, childProcesses, percentile, round, until } from '../harness.js';
import type { Row, Scenario } from '../harness.js';

const fixture = fileURLToPath(new URL('../../fixtures/fixture-server.mjs', import.meta.url));
const requireHere = createRequire(import.meta.url);
/** A server whose `echo` says it is read-only and idempotent (the fixture's says nothing). */
const everythingEntry = requireHere.resolve('@modelcontextprotocol/server-everything/dist/index.js');
/** The server measured in (a). */
const OVERHEAD_ID = 'fx';
/** How often (b) kills each kind of caller's server; a fresh server id per kill keeps every supervised kill at backoff attempt 0, and below the flap limit. */
const KILLS = 3;
const COUNT = 2_000;
const WARMUP = 200;
const CONCURRENCY = [1, 16] as const;
/** Per call in (a); a slower call fails the scenario instead of hanging it. */
const CALL_TIMEOUT_MS = 10_000;
/** Each measured batch must finish within this. */
const BATCH_DEADLINE_MS = 90_000;
/** (b): the longest a caller keeps trying after a kill. */
const CAP_MS = 15_000;
/** (b): the pause between a failed call and the next (a caller's retry loop). */
const POLL_MS = 50;

const gwId = (index: number): string => `gw${index}`;
const libId = (index: number): string => `lib${index}`;
const roId = (index: number): string => `ro${index}`;
/** The name `/mcp` gives a server's tool: `<server>__<tool>` (docs/gateway.md; short ids, so never shortened). */
const exposed = (server: string, tool: string): string => `${server}__${tool}`;

// ---------------------------------------------------------------------------------------------
// (a) clients in worker threads
// ---------------------------------------------------------------------------------------------

/** One client per worker, kept for every batch: `direct` (stdio, own server), `mcp` (Streamable HTTP to /mcp, either era) or `rest`. */
const CLIENT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { kind, clientPath, stdioPath, fixture, endpoint, token, tool, era, timeoutMs, deadlineMs } = workerData;
const textOf = (result) => result && Array.isArray(result.content) && result.content[0] && result.content[0].text;
let client;
let call;
async function open() {
  if (kind === 'rest') {
    call = async (message) => {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token },
        body: JSON.stringify({ message }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = await response.json();
      if (!response.ok || textOf(body) !== message) throw new Error('rest: ' + response.status + ' ' + JSON.stringify(body).slice(0, 300));
    };
    return;
  }
  const { Client, StreamableHTTPClientTransport } = require(clientPath);
  client = new Client({ name: 'bench-' + kind + '-' + era, version: '0.0.0' }, era === 'modern' ? { versionNegotiation: { mode: 'auto' } } : undefined);
  if (kind === 'direct') {
    const { StdioClientTransport } = require(stdioPath);
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [fixture, 'stdio'], stderr: 'ignore' }));
  } else {
    await client.connect(new StreamableHTTPClientTransport(new URL(endpoint), { requestInit: { headers: { authorization: 'Bearer ' + token } } }));
  }
  call = async (message) => {
    const result = await client.callTool({ name: tool, arguments: { message } }, { timeout: timeoutMs });
    if (result.isError || textOf(result) !== message) throw new Error(kind + ': unexpected result ' + JSON.stringify(result).slice(0, 300));
  };
}
async function batch(count, inFlight) {
  const samples = [];
  let next = 0;
  const deadline = performance.now() + deadlineMs;
  const worker = async () => {
    while (next < count) {
      if (performance.now() > deadline) throw new Error('batch did not finish within ' + deadlineMs + ' ms');
      const index = next++;
      const started = performance.now();
      await call('m' + index);
      samples.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { samples, wallMs: performance.now() - started };
}
const fail = (error) => parentPort.postMessage({ error: String((error && error.stack) || error) });
parentPort.on('message', (message) => {
  if (message.type === 'batch') batch(message.count, message.inFlight).then((result) => parentPort.postMessage(result), fail);
  if (message.type === 'close') Promise.resolve(client && client.close()).catch(() => undefined).then(() => parentPort.postMessage({ closed: true }));
});
open().then(() => parentPort.postMessage({ ready: true }), fail);
`;

interface Batch {
  samples: number[];
  wallMs: number;
}

interface ClientWorkerData {
  kind: 'direct' | 'mcp' | 'rest';
  era: 'legacy' | 'modern';
  endpoint?: string;
  token?: string;
  tool: string;
}

/** A client in a worker thread: `batch` runs calls there, `close` closes the client (and its own server, if any) and ends the thread. */
class ClientWorker {
  private readonly worker: Worker;

  private constructor(data: ClientWorkerData) {
    this.worker = new Worker(CLIENT_WORKER, {
      eval: true,
      workerData: {
        ...data,
        clientPath: requireHere.resolve('@modelcontextprotocol/client'),
        stdioPath: requireHere.resolve('@modelcontextprotocol/client/stdio'),
        fixture,
        timeoutMs: CALL_TIMEOUT_MS,
        deadlineMs: BATCH_DEADLINE_MS,
      },
    });
  }

  static async open(data: ClientWorkerData): Promise<ClientWorker> {
    const client = new ClientWorker(data);
    try {
      await client.next(30_000);
    } catch (error) {
      await client.worker.terminate();
      throw error;
    }
    return client;
  }

  batch(count: number, inFlight: number): Promise<Batch> {
    const answer = this.next<Batch>(BATCH_DEADLINE_MS + 5_000);
    this.worker.postMessage({ type: 'batch', count, inFlight });
    return answer;
  }

  async close(): Promise<void> {
    const closed = this.next(10_000).catch(() => undefined);
    this.worker.postMessage({ type: 'close' });
    await closed;
    await this.worker.terminate();
  }

  /** The worker's next message; its `error` rejects. */
  private next<T>(timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => settle(() => reject(new Error(`client worker did not answer within ${timeoutMs} ms`))), timeoutMs);
      const onMessage = (message: T | { error: string }): void =>
        settle(() => (typeof message === 'object' && message !== null && 'error' in message ? reject(new Error(message.error)) : resolve(message as T)));
      const onError = (error: Error): void => settle(() => reject(error));
      const onExit = (code: number): void => settle(() => reject(new Error(`client worker exited with ${code}`)));
      const settle = (done: () => void): void => {
        clearTimeout(timer);
        this.worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        done();
      };
      this.worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// (b) the first call after a kill
// ---------------------------------------------------------------------------------------------

interface Answer {
  ok: boolean;
  detail: string;
}

interface AfterKill {
  /** ms from the kill to the first answer of any kind, and what it was. */
  first?: { ms: number; answer: Answer };
  /** ms from the kill to the first successful call. */
  okMs?: number;
  /** The last answer, when no call succeeded. */
  last?: Answer;
  calls: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function textOf(result: unknown): string | undefined {
  const content = (result as { content?: Array<{ type: string; text?: string }> } | undefined)?.content;
  return Array.isArray(content) && content[0]?.type === 'text' ? content[0].text : undefined;
}

/** An MCP tool result as an answer: ok only for the echo of `message`. */
function answerOf(result: unknown, message: string): Answer {
  const text = textOf(result);
  if ((result as { isError?: boolean }).isError) return { ok: false, detail: `isError: ${text ?? JSON.stringify(result)}`.slice(0, 240) };
  return text === message ? { ok: true, detail: 'ok' } : { ok: false, detail: `unexpected: ${JSON.stringify(result)}`.slice(0, 240) };
}

function errorAnswer(error: unknown): Answer {
  return { ok: false, detail: `${(error as Error).name}: ${(error as Error).message}`.slice(0, 240) };
}

/** Resolves with the work's answer, or with "no answer" after `ms` (the work itself goes on). */
async function capped(work: () => Promise<Answer>, ms: number): Promise<Answer | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work().catch(errorAnswer), new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kills, then calls right away and again every POLL_MS after a failure, until a call succeeds or CAP_MS passes. */
async function afterKill(kill: () => void, call: () => Promise<Answer>): Promise<AfterKill> {
  const t0 = performance.now();
  kill();
  const result: AfterKill = { calls: 0 };
  for (;;) {
    const remaining = CAP_MS - (performance.now() - t0);
    if (remaining <= 0) return result;
    result.calls += 1;
    const answer = await capped(call, remaining);
    const ms = round(performance.now() - t0, 0);
    if (answer === undefined) return result;
    result.first ??= { ms, answer };
    result.last = answer;
    if (answer.ok) {
      result.okMs = ms;
      return result;
    }
    await sleep(POLL_MS);
  }
}

function killPid(pid: number | undefined): void {
  if (pid === undefined) throw new Error('no server pid to kill');
  process.kill(pid, 'SIGKILL');
}

/** Server processes that are children of this process (the supervisor's, mastra's, the plain clients'). */
function fixtureChildren(): number[] {
  return childProcesses()
    .filter((child) => [fixture, everythingEntry].some((path) => child.args.includes(path)))
    .map((child) => child.pid);
}

/** Rows for one kind of caller over its KILLS kills: medians, and every sample in the note. */
function killRows(scenario: string, label: string, results: AfterKill[], notes: { first?: string; ok?: string }): Row[] {
  const firsts = results.flatMap((result) => (result.first ? [result.first.ms] : []));
  const oks = results.flatMap((result) => (result.okMs === undefined ? [] : [result.okMs]));
  // Table cells: no `|`, and each distinct answer once, with the server ids made alike.
  const cell = (text: string): string => text.replaceAll('|', '/').replace(/"(gw|ro|lib|m)\d+"/g, '"$1N"');
  const details = [...new Set(results.map((result) => cell(result.first?.answer.detail ?? `no answer within ${CAP_MS / 1_000} s`)))];
  const lasts = [...new Set(results.flatMap((result) => (result.okMs === undefined && result.last ? [cell(result.last.detail)] : [])))];
  const never = results.length - oks.length;
  return [
    {
      scenario,
      metric: `${label}: first answer after (median of ${results.length})`,
      value: firsts.length === results.length ? round(percentile(firsts, 50), 0) : Number.NaN,
      unit: 'ms',
      note: `${firsts.join(' / ')} ms; ${details.join('; ')}${notes.first ? `; ${notes.first}` : ''}`,
    },
    {
      scenario,
      metric: `${label}: first successful call after (median of ${results.length})`,
      value: never === 0 ? round(percentile(oks, 50), 0) : Number.NaN,
      unit: 'ms',
      note: `${never === 0 ? `${oks.join(' / ')} ms` : `${never} of ${results.length} never within ${CAP_MS / 1_000} s${oks.length > 0 ? ` (others: ${oks.join(' / ')} ms)` : ''}`}; calls made: ${results.map((result) => result.calls).join(' / ')}${lasts.length > 0 ? `; last answer: ${lasts.join('; ')}` : ''}${notes.ok ? `; ${notes.ok}` : ''}`,
    },
  ];
}

async function mastraVersions(): Promise<string> {
  const read = async (name: string): Promise<string> => {
    try {
      return (JSON.parse(await readFile(requireHere.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
    } catch {
      return '?';
    }
  };
  return `@mastra/mcp ${await read('@mastra/mcp')}, @mastra/core ${await read('@mastra/core')}`;
}

/** The MCPClient of @mastra/mcp as far as this scenario uses it (imported at run time: a devDependency that may be missing). */
interface MastraClient {
  listToolsets(): Promise<Record<string, Record<string, { execute?: (input: unknown, context: unknown) => Promise<unknown> }>>>;
  disconnect(): Promise<void>;
}

/** The pid of the stdio process behind one of mastra's servers (a private field: no public accessor exists). */
function mastraPid(client: MastraClient, server: string): number | undefined {
  const internal = (client as unknown as { mcpClientsById?: Map<string, { transport?: { pid?: number | null } }> }).mcpClientsById?.get(server);
  return internal?.transport?.pid ?? undefined;
}

// ---------------------------------------------------------------------------------------------

export const scenario: Scenario = {
  name: 'MCP gateway: /mcp overhead, and the first call after a kill (/mcp, @mastra/mcp, plain SDK, library)',
  async run(): Promise<Row[]> {
    const rows: Row[] = [];
    const load = (): string => loadavg().map((value) => value.toFixed(2)).join(' / ');
    rows.push({ scenario: 'host', metric: 'load average at start (1/5/15 min)', value: round(loadavg()[0] ?? Number.NaN, 2), unit: '', note: `${load()}; other test runs may share this host` });

    const directory = await mkdtemp(join(tmpdir(), 'mcp-supervisor-bench-gateway-'));
    const configPath = join(directory, 'mcp.json');
    const token = randomBytes(24).toString('hex');
    const kills = (name: (index: number) => string): string[] => Array.from({ length: KILLS }, (_, index) => name(index + 1));
    const ids = [OVERHEAD_ID, ...kills(gwId), ...kills(libId)];
    const stdio = { command: process.execPath, args: [fixture, 'stdio'] };
    const everything = { command: process.execPath, args: [everythingEntry, 'stdio'] };
    const servers = { ...Object.fromEntries(ids.map((id) => [id, stdio])), ...Object.fromEntries(kills(roId).map((id) => [id, everything])) };
    ids.push(...kills(roId));
    await writeFile(configPath, `${JSON.stringify({ mcpServers: servers }, null, 2)}\n`);

    let service: RunningService | undefined;
    const workers: ClientWorker[] = [];
    let gatewayClient: Client | undefined;
    let mastra: MastraClient | undefined;
    const plainClients: Client[] = [];
    try {
      service = await startService({ configPath, port: 0, token });
      const { supervisor, url } = service;
      await Promise.all(ids.map((id) => supervisor.ready(id, 30_000)));
      const healthyAt: Array<Extract<FleetEvent, { type: 'state.changed' }>> = [];
      const unsubscribe = supervisor.subscribe((event) => {
        if (event.type === 'state.changed') healthyAt.push(event);
      });
      const healthyAfter = async (id: string, t0: number): Promise<number> => {
        const find = (): FleetEvent | undefined => healthyAt.find((event) => event.id === id && event.to === 'healthy' && event.at >= t0);
        await until(() => find() !== undefined, 20_000, 10).catch(() => undefined);
        const event = find();
        return event ? event.at - t0 : Number.NaN;
      };
      const supervisedPid = (id: string): number | undefined => supervisor.connection(id).getSnapshot().context.session?.pid;

      // Is /mcp there? A client that cannot connect gets "not available" rows, with the reason.
      const mcpUrl = `${url}/mcp`;
      let gatewayMissing: string | undefined;
      const listChanged: number[] = [];
      try {
        gatewayClient = new Client({ name: 'bench-gateway-kill', version: '0.0.0' });
        gatewayClient.setNotificationHandler('notifications/tools/list_changed', () => {
          listChanged.push(Date.now());
        });
        await gatewayClient.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
        const names = (await gatewayClient.listTools()).tools.map((tool) => tool.name);
        const missing = ids.map((id) => exposed(id, 'echo')).filter((name) => !names.includes(name));
        if (missing.length > 0) throw new Error(`/mcp lists no ${missing.join(', ')} (it lists ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''})`);
      } catch (error) {
        gatewayMissing = `not available: ${(error as Error).message.slice(0, 200)}`;
        await gatewayClient?.close().catch(() => undefined);
        gatewayClient = undefined;
      }

      // (a) overhead
      {
        const modes: Array<{ key: string; label: string; data: ClientWorkerData; needsGateway: boolean }> = [
          { key: 'direct', label: 'direct SDK v2 Client (stdio, its own server process)', data: { kind: 'direct', era: 'legacy', tool: 'echo' }, needsGateway: false },
          { key: 'mcp-legacy', label: 'SDK v2 Client → /mcp (2025 era: initialize, session)', data: { kind: 'mcp', era: 'legacy', endpoint: mcpUrl, token, tool: exposed(OVERHEAD_ID, 'echo') }, needsGateway: true },
          { key: 'mcp-modern', label: "SDK v2 Client → /mcp (2026-07-28 era, versionNegotiation 'auto')", data: { kind: 'mcp', era: 'modern', endpoint: mcpUrl, token, tool: exposed(OVERHEAD_ID, 'echo') }, needsGateway: true },
          { key: 'rest', label: 'fetch → POST /actors/:id/tools/echo (REST proxy)', data: { kind: 'rest', era: 'legacy', endpoint: `${url}/actors/${OVERHEAD_ID}/tools/echo`, token, tool: 'echo' }, needsGateway: false },
        ];
        const running: Array<{ key: string; label: string; client: ClientWorker }> = [];
        for (const mode of modes) {
          if (mode.needsGateway && gatewayMissing) {
            rows.push({ scenario: `echo: ${mode.label}`, metric: 'p50', value: Number.NaN, unit: 'ms', note: gatewayMissing });
            continue;
          }
          const client = await ClientWorker.open(mode.data);
          workers.push(client);
          running.push({ key: mode.key, label: mode.label, client });
        }
        for (const mode of running) await mode.client.batch(WARMUP, 4);

        for (const inFlight of CONCURRENCY) {
          const p50s = new Map<string, number>();
          const p99s = new Map<string, number>();
          for (const mode of running) {
            const { samples, wallMs } = await mode.client.batch(COUNT, inFlight);
            p50s.set(mode.key, percentile(samples, 50));
            p99s.set(mode.key, percentile(samples, 99));
            const scenario = `echo ×${COUNT}, ${inFlight} in flight: ${mode.label}`;
            rows.push(
              { scenario, metric: 'p50', value: round(percentile(samples, 50), 3), unit: 'ms' },
              { scenario, metric: 'p99', value: round(percentile(samples, 99), 3), unit: 'ms' },
              { scenario, metric: 'throughput', value: round((COUNT / wallMs) * 1_000, 0), unit: 'calls/s' },
            );
          }
          const scenario = `echo ×${COUNT}, ${inFlight} in flight: /mcp against the direct SDK client`;
          for (const key of ['mcp-legacy', 'mcp-modern', 'rest']) {
            if (!p50s.has(key) || !p50s.has('direct')) continue;
            const label = key === 'rest' ? 'REST' : `/mcp ${key.slice(4)}`;
            rows.push(
              { scenario, metric: `p50 ${label} − direct`, value: round((p50s.get(key) ?? Number.NaN) - (p50s.get('direct') ?? Number.NaN), 3), unit: 'ms' },
              {
                scenario,
                metric: `p99 ${label} − direct`,
                value: round((p99s.get(key) ?? Number.NaN) - (p99s.get('direct') ?? Number.NaN), 3),
                unit: 'ms',
                note: key === 'rest' ? 'for scale: the same hop without MCP framing' : 'loopback HTTP + JSON-RPC framing + catalog lookup + the supervisor’s own client call',
              },
            );
          }
        }
        for (const client of workers.splice(0)) await client.close();
      }

      // (b) the first call after a kill
      const scenario = `SIGKILL the server, call at once and every ${POLL_MS} ms until one succeeds (cap ${CAP_MS / 1_000} s)`;
      {
        // /mcp: one client session for all kills, never touched between them; once with the
        // fixture's echo (no annotations: a call lost in flight is not re-sent), once with
        // server-everything's echo (readOnlyHint + idempotentHint: it is).
        if (gatewayClient) {
          const client = gatewayClient;
          const kinds = [
            { label: '/mcp, echo without hints (fixture)', id: gwId, expect: (message: string) => message },
            { label: '/mcp, echo marked read-only + idempotent (server-everything)', id: roId, expect: (message: string) => `Echo: ${message}` },
          ];
          for (const kind of kinds) {
            const results: AfterKill[] = [];
            const healthy: number[] = [];
            const notices: number[] = [];
            for (let index = 1; index <= KILLS; index += 1) {
              const id = kind.id(index);
              const t0 = Date.now();
              const before = listChanged.length;
              results.push(
                await afterKill(
                  () => killPid(supervisedPid(id)),
                  async () => answerOf(await client.callTool({ name: exposed(id, 'echo'), arguments: { message: 'after kill' } }, { timeout: CAP_MS }), kind.expect('after kill')),
                ),
              );
              healthy.push(await healthyAfter(id, t0));
              await sleep(500); // the notice of the way back in (debounced) lands before counting
              notices.push(listChanged.length - before);
            }
            rows.push(
              ...killRows(scenario, kind.label, results, { ok: 'the same client session throughout: the gateway waits for the server within the call’s budget' }),
              { scenario, metric: `${kind.label}: supervisor healthy again after (median)`, value: round(percentile(healthy, 50), 0), unit: 'ms', note: `${healthy.join(' / ')} ms: backoff with full jitter (ceiling initialBackoffMs 1000) + spawn + initialize` },
              { scenario, metric: `${kind.label}: tools/list_changed notices per kill`, value: percentile(notices, 50), unit: '', note: `${notices.join(' / ')}: withdrawn while reconnecting, back when healthy (on the session's GET stream)` },
            );
          }
        } else {
          rows.push({ scenario, metric: '/mcp: first successful call after', value: Number.NaN, unit: 'ms', note: gatewayMissing ?? 'not available' });
        }

        // The library: supervisor.callTool refuses while the server is not serving; the caller retries.
        {
          const results: AfterKill[] = [];
          const healthy: number[] = [];
          for (let index = 1; index <= KILLS; index += 1) {
            const id = libId(index);
            const t0 = Date.now();
            results.push(await afterKill(() => killPid(supervisedPid(id)), async () => answerOf(await supervisor.callTool(id, 'echo', { message: 'after kill' }, { timeoutMs: CAP_MS }), 'after kill')));
            healthy.push(await healthyAfter(id, t0));
          }
          rows.push(
            ...killRows(scenario, 'supervisor.callTool (library)', results, {
              first: 'fails at once while the server is not serving; the caller decides whether to retry',
              ok: `retried every ${POLL_MS} ms by the caller; healthy again after ${healthy.join(' / ')} ms`,
            }),
          );
        }
        unsubscribe();

        // @mastra/mcp: one MCPClient, one server (process) per kill.
        const versions = await mastraVersions();
        let mastraModule: { MCPClient: new (options: unknown) => MastraClient } | undefined;
        let mastraMissing: string | undefined;
        try {
          mastraModule = (await import('@mastra/mcp')) as unknown as { MCPClient: new (options: unknown) => MastraClient };
        } catch (error) {
          mastraMissing = `not installed or not loadable: ${(error as Error).message.slice(0, 200)}`;
        }
        if (mastraModule) {
          const names = Array.from({ length: KILLS }, (_, index) => `m${index + 1}`);
          mastra = new mastraModule.MCPClient({
            id: 'bench-gateway-mastra',
            servers: Object.fromEntries(names.map((name) => [name, { ...stdio, stderr: 'ignore', enableServerLogs: false }])),
            timeout: CAP_MS,
          });
          const toolsets = await mastra.listToolsets();
          const results: AfterKill[] = [];
          for (const name of names) {
            const echo = toolsets[name]?.echo?.execute;
            if (!echo) throw new Error(`mastra: no echo tool on ${name}`);
            const client = mastra;
            results.push(await afterKill(() => killPid(mastraPid(client, name)), async () => answerOf(await echo({ message: 'after kill' }, {}), 'after kill')));
          }
          rows.push(...killRows(scenario, `@mastra/mcp (${versions})`, results, { ok: 'its tool wrapper reconnects (a new process) and re-sends the call once, whatever the tool’s annotations' }));
        } else {
          rows.push({ scenario, metric: '@mastra/mcp: first successful call after', value: Number.NaN, unit: 'ms', note: mastraMissing ?? 'not available' });
        }

        // A plain SDK v2 client: nothing reconnects it.
        {
          const client = new Client({ name: 'bench-plain', version: '0.0.0' });
          plainClients.push(client);
          const transport = new StdioClientTransport({ ...stdio, stderr: 'ignore' });
          await client.connect(transport);
          const result = await afterKill(() => killPid(transport.pid ?? undefined), async () => answerOf(await client.callTool({ name: 'echo', arguments: { message: 'after kill' } }, { timeout: CAP_MS }), 'after kill'));
          rows.push(...killRows(scenario, 'plain SDK v2 Client (stdio)', [result], { ok: 'the caller has to build a new client and connect it' }));
        }
      }
      rows.push({ scenario: 'host', metric: 'load average at end (1/5/15 min)', value: round(loadavg()[0] ?? Number.NaN, 2), unit: '', note: load() });
      return rows;
    } finally {
      for (const client of workers) await client.close().catch(() => undefined);
      await gatewayClient?.close().catch(() => undefined);
      for (const client of plainClients) await client.close().catch(() => undefined);
      await mastra?.disconnect().catch(() => undefined);
      await service?.close().catch(() => undefined);
      // Anything still here is a leak: kill it and say so.
      const leftovers = fixtureChildren();
      for (const pid of leftovers) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      if (leftovers.length > 0) {
        await until(() => leftovers.every((pid) => !alive(pid)), 5_000).catch(() => undefined);
        rows.push({ scenario: 'cleanup', metric: 'leftover server processes killed', value: leftovers.length, unit: '', bound: '0', note: leftovers.join(', ') });
      }
      await rm(directory, { recursive: true, force: true });
    }
  },
};
