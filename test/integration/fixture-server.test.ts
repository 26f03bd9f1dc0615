// Tests of the fault-injectable fixture server itself, over real stdio and loopback HTTP.
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureServerPath, startHttpFixture, type HttpFixture } from '../../fixtures/http-fixture.js';
import {
  describePids,
  descendantPids,
  isAlive,
  processState,
  readProcStat,
  waitForExit,
  waitForNoDescendants,
  waitForState,
} from '../support/processes.js';

// ---------------------------------------------------------------------------------------
// Resource tracking: everything a test opens is closed in afterEach, then no process may
// be left below this worker.
// ---------------------------------------------------------------------------------------

const cleanups: Array<() => Promise<void>> = [];
const onCleanup = (fn: () => Promise<void> | void) => {
  cleanups.push(async () => {
    await fn();
  });
};

afterEach(async () => {
  const fns = cleanups.splice(0).reverse();
  for (const fn of fns) {
    await withTimeout(fn(), 10_000, 'cleanup').catch(() => {});
  }
  const left = await waitForNoDescendants(5_000);
  expect(left, `leaked processes:\n${describePids(left)}`).toEqual([]);
});

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const clientInfo = { name: 'fixture-test', version: '1.0.0' };

async function connectStdio(env: Record<string, string> = {}) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [fixtureServerPath, 'stdio'],
    env,
    stderr: 'pipe',
  });
  const client = new Client(clientInfo);
  const closed = new Promise<void>((resolve) => {
    client.onclose = () => resolve();
  });
  onCleanup(() => client.close());
  await withTimeout(client.connect(transport), 10_000, 'stdio connect');
  const pid = transport.pid;
  if (pid === null) throw new Error('stdio transport has no pid');
  return { client, transport, pid, closed };
}

async function connectStreamable(fixture: HttpFixture) {
  const transport = new StreamableHTTPClientTransport(new URL(fixture.mcpUrl));
  const client = new Client(clientInfo);
  client.onerror = () => {}; // expected noise (e.g. GET stream reconnects after drops)
  onCleanup(() => client.close());
  await withTimeout(client.connect(transport), 10_000, 'streamable connect');
  return { client, transport };
}

async function connectSse(fixture: HttpFixture) {
  const transport = new SSEClientTransport(new URL(fixture.sseUrl));
  const client = new Client(clientInfo);
  client.onerror = () => {};
  onCleanup(() => client.close());
  await withTimeout(client.connect(transport), 10_000, 'sse connect');
  return { client, transport };
}

async function startFixture(): Promise<HttpFixture> {
  const fixture = await startHttpFixture();
  onCleanup(() => fixture.stop());
  return fixture;
}

async function echo(client: Client, message: string): Promise<string> {
  const result = await client.callTool({ name: 'echo', arguments: { message } }, undefined, { timeout: 5_000 });
  return textOf(result);
}

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content;
  const first = content?.[0];
  if (first?.type !== 'text' || typeof first.text !== 'string') {
    throw new Error(`expected text content, got ${JSON.stringify(result)}`);
  }
  return first.text;
}

async function timedPing(client: Client): Promise<number> {
  const start = performance.now();
  await client.ping({ timeout: 5_000 });
  return performance.now() - start;
}

async function expectPingTimeout(client: Client): Promise<void> {
  const error = await client.ping({ timeout: 300 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(McpError);
  expect((error as McpError).code).toBe(ErrorCode.RequestTimeout);
}

interface State {
  pid: number;
  latencyMs: number;
  frozen: boolean;
  sessions: number;
}
const state = async (fixture: HttpFixture) => (await fixture.control('state')) as State;

// A raw child speaking newline-delimited JSON-RPC, to check exit codes and stdout hygiene.
interface RawChild {
  child: ChildProcess;
  pid: number;
  stdoutLines: string[];
  stderr: () => string;
  send(message: unknown): void;
  response(id: number): Promise<Record<string, unknown>>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnRaw(env: Record<string, string> = {}, detached = false): RawChild {
  const child = spawn(process.execPath, [fixtureServerPath, 'stdio'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    detached,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawn failed');
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        if (detached) process.kill(-pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // gone
      }
      await exit;
    }
  });
  child.stdin?.on('error', () => {});
  const stdoutLines: string[] = [];
  const waiters = new Map<number, (message: Record<string, unknown>) => void>();
  const responses = new Map<number, Record<string, unknown>>();
  let buffered = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      stdoutLines.push(line);
      try {
        const message = JSON.parse(line) as Record<string, unknown>;
        if (typeof message.id === 'number') {
          responses.set(message.id, message);
          waiters.get(message.id)?.(message);
        }
      } catch {
        // non-JSON lines are asserted on by the test
      }
    }
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  return {
    child,
    pid,
    stdoutLines,
    stderr: () => stderr,
    send: (message) => child.stdin?.write(`${JSON.stringify(message)}\n`),
    response: (id) =>
      withTimeout(
        new Promise((resolve) => {
          const seen = responses.get(id);
          if (seen) resolve(seen);
          else waiters.set(id, resolve);
        }),
        5_000,
        `response ${id}`,
      ),
    exit,
  };
}

async function initializeRaw(raw: RawChild): Promise<void> {
  raw.send({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo },
  });
  await raw.response(1);
  raw.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
}

// ---------------------------------------------------------------------------------------

describe('fixture server over stdio', () => {
  it('echoes', async () => {
    const { client } = await connectStdio();
    expect(await echo(client, 'hello stdio')).toBe('hello stdio');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['echo', 'echo_meta', 'exit', 'freeze', 'set_latency']);
  });

  it('set_latency delays ping replies', async () => {
    const { client } = await connectStdio();
    const reply = await client.callTool({ name: 'set_latency', arguments: { ms: 200 } });
    expect(textOf(reply)).toBe('latency 200');
    expect(await timedPing(client)).toBeGreaterThanOrEqual(200);
  });

  it('freeze stops all answers but keeps the process', async () => {
    const { client, pid } = await connectStdio();
    expect(textOf(await client.callTool({ name: 'freeze', arguments: {} }))).toBe('frozen');
    await expectPingTimeout(client);
    await expect(
      client.callTool({ name: 'echo', arguments: { message: 'x' } }, undefined, { timeout: 300 }),
    ).rejects.toMatchObject({ code: ErrorCode.RequestTimeout });
    expect(isAlive(pid)).toBe(true);

    process.kill(pid, 'SIGUSR2'); // thaw
    expect(await echo(client, 'thawed')).toBe('thawed');
  });

  it('exit replies, then ends the child', async () => {
    const { client, pid, closed } = await connectStdio();
    expect(textOf(await client.callTool({ name: 'exit', arguments: { code: 3 } }))).toBe('exiting 3');
    await withTimeout(closed, 5_000, 'client onclose');
    expect(await waitForExit(pid, 5_000)).toBe(true);
  });

  it('exits with the requested code and writes only protocol to stdout', async () => {
    const raw = spawnRaw();
    await initializeRaw(raw);
    raw.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'm' } } });
    await raw.response(2);
    raw.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'exit', arguments: { code: 7 } } });
    expect(await withTimeout(raw.exit, 5_000, 'exit')).toEqual({ code: 7, signal: null });
    expect(raw.stdoutLines).toHaveLength(3);
    for (const line of raw.stdoutLines) {
      expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
    }
  });

  it('exits 0 when stdin closes, even with delayed replies pending', async () => {
    const raw = spawnRaw();
    await initializeRaw(raw);
    raw.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'set_latency', arguments: { ms: 60_000 } } });
    await raw.response(2);
    raw.send({ jsonrpc: '2.0', id: 3, method: 'ping' }); // its reply now sits on a 60 s timer
    raw.child.stdin?.end();
    expect(await withTimeout(raw.exit, 3_000, 'exit after stdin EOF')).toEqual({ code: 0, signal: null });
  });

  it('exits 0 on SIGTERM, even while frozen', async () => {
    const raw = spawnRaw();
    await initializeRaw(raw);
    raw.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'freeze', arguments: {} } });
    await raw.response(2);
    raw.child.kill('SIGTERM');
    expect(await withTimeout(raw.exit, 3_000, 'exit after SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('FIXTURE_FORK_GRANDCHILD spawns a grandchild in the same process group', async () => {
    // Own process group (detached), as a supervisor would spawn it.
    const raw = spawnRaw({ FIXTURE_FORK_GRANDCHILD: '1' }, true);
    const grandchildPid = await withTimeout(
      new Promise<number>((resolve) => {
        const check = () => {
          const match = /grandchild (\d+)/.exec(raw.stderr());
          if (match?.[1]) resolve(Number(match[1]));
        };
        raw.child.stderr?.on('data', check);
        check();
      }),
      5_000,
      'grandchild line',
    );
    await initializeRaw(raw);
    const stat = readProcStat(grandchildPid);
    expect(stat).toMatchObject({ ppid: raw.pid, pgrp: raw.pid });
    expect(descendantPids()).toContain(grandchildPid);

    process.kill(-raw.pid, 'SIGKILL');
    expect(await withTimeout(raw.exit, 3_000, 'group kill')).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await waitForExit(grandchildPid, 3_000)).toBe(true);
  });
});

describe('fixture server over HTTP', () => {
  it('echoes over Streamable HTTP and legacy SSE', async () => {
    const fixture = await startFixture();
    expect(fixture.mcpUrl).toBe(`http://127.0.0.1:${fixture.port}/mcp`);
    const streamable = await connectStreamable(fixture);
    const sse = await connectSse(fixture);
    expect(await echo(streamable.client, 'hello streamable')).toBe('hello streamable');
    expect(await echo(sse.client, 'hello sse')).toBe('hello sse');
    expect(streamable.transport.sessionId).toEqual(expect.any(String));
    expect(await state(fixture)).toMatchObject({ pid: fixture.pid, sessions: 2, frozen: false, latencyMs: 0 });
  });

  it('latency (tool and control endpoint) delays ping replies on every session', async () => {
    const fixture = await startFixture();
    const streamable = await connectStreamable(fixture);
    const sse = await connectSse(fixture);
    await streamable.client.callTool({ name: 'set_latency', arguments: { ms: 150 } });
    expect(await timedPing(streamable.client)).toBeGreaterThanOrEqual(150);
    expect(await timedPing(sse.client)).toBeGreaterThanOrEqual(150);

    expect(await fixture.control('latency', { ms: 250 })).toMatchObject({ latencyMs: 250 });
    expect(await timedPing(sse.client)).toBeGreaterThanOrEqual(250);
    await fixture.control('latency', { ms: 0 });
    expect(await state(fixture)).toMatchObject({ latencyMs: 0 });
  });

  it('freeze hangs MCP traffic while control endpoints still answer; thaw resumes', async () => {
    const fixture = await startFixture();
    const streamable = await connectStreamable(fixture);
    const sse = await connectSse(fixture);

    expect(await fixture.control('freeze')).toMatchObject({ frozen: true });
    await expectPingTimeout(streamable.client);
    await expectPingTimeout(sse.client);
    expect(await state(fixture)).toMatchObject({ frozen: true, sessions: 2 });

    // New sessions cannot even initialize while frozen.
    const blocked = new Client(clientInfo);
    onCleanup(() => blocked.close());
    await expect(
      blocked.connect(new StreamableHTTPClientTransport(new URL(fixture.mcpUrl)), { timeout: 300 }),
    ).rejects.toMatchObject({ code: ErrorCode.RequestTimeout });

    expect(await fixture.control('thaw')).toMatchObject({ frozen: false });
    expect(await echo(streamable.client, 'thawed')).toBe('thawed');
    expect(await echo(sse.client, 'thawed')).toBe('thawed');
  });

  it('freeze tool freezes the whole server', async () => {
    const fixture = await startFixture();
    const streamable = await connectStreamable(fixture);
    expect(textOf(await streamable.client.callTool({ name: 'freeze', arguments: {} }))).toBe('frozen');
    await expectPingTimeout(streamable.client);
    expect(await state(fixture)).toMatchObject({ frozen: true });
  });

  it('drop-sessions makes old Streamable HTTP sessions 404 and ends SSE sessions', async () => {
    const fixture = await startFixture();
    const streamable = await connectStreamable(fixture);
    const sse = await connectSse(fixture);
    const sseErrors: Error[] = [];
    sse.client.onerror = (error) => sseErrors.push(error);

    expect(await fixture.control('drop-sessions')).toMatchObject({ dropped: 2 });

    const error = await streamable.client.ping({ timeout: 5_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect((error as StreamableHTTPError).code).toBe(404);

    // The legacy SSE client only has a plain Error carrying the status in its message.
    await expect(sse.client.ping({ timeout: 5_000 })).rejects.toThrow(/HTTP 404/);
    expect(sseErrors.length).toBeGreaterThan(0);

    // A fresh session works.
    const fresh = await connectStreamable(fixture);
    expect(await echo(fresh.client, 'new session')).toBe('new session');
    expect(await state(fixture)).toMatchObject({ sessions: 1 });
  });

  it('restart comes back on the same port with a new pid and no old sessions', async () => {
    const fixture = await startFixture();
    const streamable = await connectStreamable(fixture);
    const { port, pid } = fixture;
    await fixture.restart();
    expect(fixture.port).toBe(port);
    expect(fixture.pid).not.toBe(pid);
    expect(isAlive(pid)).toBe(false);
    await expect(streamable.client.ping({ timeout: 5_000 })).rejects.toMatchObject({ code: 404 });
    const fresh = await connectStreamable(fixture);
    expect(await echo(fresh.client, 'after restart')).toBe('after restart');
    expect(await state(fixture)).toMatchObject({ pid: fixture.pid });
  });

  it('sigstop/sigcont stop and resume the process', async () => {
    const fixture = await startFixture();
    const streamable = await connectStreamable(fixture);
    fixture.sigstop();
    expect(await waitForState(fixture.pid, 'T', 2_000)).toBe(true);
    await expectPingTimeout(streamable.client);
    fixture.sigcont();
    expect(await echo(streamable.client, 'resumed')).toBe('resumed');
    expect(processState(fixture.pid)).not.toBe('T');
  });

  it('stop works on a stopped (SIGSTOPped) fixture', async () => {
    const fixture = await startFixture();
    fixture.sigstop();
    await withTimeout(fixture.stop(), 5_000, 'stop');
    expect(isAlive(fixture.pid)).toBe(false);
  });

  it('exit tool ends the HTTP fixture process', async () => {
    const fixture = await startFixture();
    const streamable = await connectStreamable(fixture);
    expect(textOf(await streamable.client.callTool({ name: 'exit', arguments: { code: 0 } }))).toBe('exiting 0');
    expect(await waitForExit(fixture.pid, 5_000)).toBe(true);
  });

  it('rejects with the fixture stderr when the port is taken', async () => {
    const fixture = await startFixture();
    await expect(startHttpFixture({ port: fixture.port })).rejects.toThrow(/EADDRINUSE/);
  });
});
