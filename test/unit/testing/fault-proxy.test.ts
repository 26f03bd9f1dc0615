import net from 'node:net';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFaultProxy } from '../../../src/testing/index.js';
import type { FaultProxy } from '../../../src/testing/index.js';
import { until } from '../../support/wait.js';

/** A TCP echo server on 127.0.0.1 that records what each connection received, chunk by chunk. */
interface EchoServer {
  port: number;
  /** Chunks received, one array per accepted connection in accept order. */
  received: Buffer[][];
  sockets: Set<Socket>;
  close(): Promise<void>;
}

async function startEcho(): Promise<EchoServer> {
  const received: Buffer[][] = [];
  const sockets = new Set<Socket>();
  const server = net.createServer((socket) => {
    const chunks: Buffer[] = [];
    received.push(chunks);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      socket.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    received,
    sockets,
    // Resolves only once every connection is gone, so a hanging close means a leaked socket.
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

/** A client socket that records everything it receives and how it ended. */
interface Client {
  socket: Socket;
  data(): Buffer;
  chunks: Buffer[];
  /** Resolves with the first error (or undefined on a clean close) once the socket is closed. */
  closed: Promise<NodeJS.ErrnoException | undefined>;
  /** Resolves once at least `bytes` bytes have arrived. */
  waitFor(bytes: number): Promise<Buffer>;
}

const clients = new Set<Socket>();

async function connect(port: number): Promise<Client> {
  const socket = net.connect({ host: '127.0.0.1', port });
  clients.add(socket);
  const chunks: Buffer[] = [];
  let error: NodeJS.ErrnoException | undefined;
  const waiters: Array<() => void> = [];
  const wake = (): void => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    wake();
  });
  socket.on('close', wake);
  socket.on('error', (cause: NodeJS.ErrnoException) => {
    error ??= cause;
  });
  const closed = new Promise<NodeJS.ErrnoException | undefined>((resolve) => socket.once('close', () => resolve(error)));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const data = (): Buffer => Buffer.concat(chunks);
  return {
    socket,
    chunks,
    data,
    closed,
    waitFor: async (bytes) => {
      while (data().length < bytes) {
        if (socket.destroyed) throw new Error(`socket closed after ${data().length} of ${bytes} bytes`, { cause: error });
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      return data();
    },
  };
}

/**
 * How a connection that is reset on arrival ends. The RST can beat the client's own connect
 * callback, and then connect() itself fails with it.
 */
function endOf(port: number): Promise<NodeJS.ErrnoException | undefined> {
  return connect(port).then(
    (client) => client.closed,
    (error: NodeJS.ErrnoException) => error,
  );
}

async function roundTrip(client: Client, message: string): Promise<number> {
  const before = client.data().length;
  const started = performance.now();
  client.socket.write(message);
  const data = await client.waitFor(before + message.length);
  expect(data.subarray(before).toString()).toBe(message);
  return performance.now() - started;
}

const payload = (length: number): Buffer => Buffer.from(Array.from({ length }, (_, i) => i % 251));


describe('fault proxy', () => {
  let echo: EchoServer;
  let proxy: FaultProxy;

  beforeEach(async () => {
    echo = await startEcho();
    proxy = await startFaultProxy({ upstream: { port: echo.port } });
  });

  afterEach(async () => {
    for (const socket of clients) socket.destroy();
    clients.clear();
    await proxy.close();
    await echo.close();
  });

  it('listens on 127.0.0.1 with an OS-picked port and forwards both ways unchanged', async () => {
    expect(proxy.host).toBe('127.0.0.1');
    expect(proxy.port).toBeGreaterThan(0);
    expect(proxy.port).not.toBe(echo.port);
    expect(proxy.url('/mcp')).toBe(`http://127.0.0.1:${proxy.port}/mcp`);
    const client = await connect(proxy.port);
    await roundTrip(client, 'hello through the proxy');
    await until(() => proxy.connections === 1, 'one open connection');
    const big = payload(3 * 1024 * 1024);
    client.socket.write(big);
    const data = await client.waitFor(23 + big.length);
    expect(data.subarray(23).equals(big)).toBe(true);
    client.socket.end();
    expect(await client.closed).toBeUndefined();
    await until(() => proxy.connections === 0, 'no open connection');
  });

  it('passes a half-close on, and the reply after it', async () => {
    const client = await connect(proxy.port);
    client.socket.end('bye');
    expect(await client.closed).toBeUndefined();
    expect(client.data().toString()).toBe('bye');
  });

  it('latency delays each chunk by at least latencyMs, keeping order', async () => {
    const client = await connect(proxy.port);
    await roundTrip(client, 'warm up');
    proxy.setToxics([{ type: 'latency', latencyMs: 120 }]);
    expect(await roundTrip(client, 'slow')).toBeGreaterThanOrEqual(120);
    // Many chunks in flight at once still arrive in order, intact.
    const before = client.data().length;
    const parts = Array.from({ length: 50 }, (_, i) => `part-${i};`);
    for (const part of parts) client.socket.write(part);
    const expected = parts.join('');
    const data = await client.waitFor(before + expected.length);
    expect(data.subarray(before).toString()).toBe(expected);
  });

  it('latency with direction both delays each way', async () => {
    proxy.setToxics([{ type: 'latency', latencyMs: 80, direction: 'both' }]);
    const client = await connect(proxy.port);
    expect(await roundTrip(client, 'there and back')).toBeGreaterThanOrEqual(160);
  });

  it('jitter comes from the injected random source', async () => {
    const jittery = await startFaultProxy({ upstream: { port: echo.port }, random: () => 0.999 });
    try {
      jittery.setToxics([{ type: 'latency', latencyMs: 50, jitterMs: 150 }]);
      const client = await connect(jittery.port);
      // random() ≈ 1 draws (almost) the full +jitter: at least 50 + 149 ms.
      expect(await roundTrip(client, 'jitter')).toBeGreaterThanOrEqual(199);
    } finally {
      await jittery.close();
    }
  });

  it('latency stops reading the source once its queue is full instead of buffering without limit', async () => {
    proxy.setToxics([{ type: 'latency', latencyMs: 60_000, direction: 'upstream' }]);
    const client = await connect(proxy.port);
    // Written in 64 KiB pieces: writableLength only shrinks by whole completed writes.
    const piece = Buffer.alloc(64 * 1024, 7);
    const total = 128 * 1024 * 1024;
    for (let written = 0; written < total; written += piece.length) client.socket.write(piece);
    // Once nothing has moved for a while (completed writes are reported in bursts, hence 100
    // polls), the client still holds most of the flood: the proxy (1 MiB queue) and the kernel
    // buffers between took the rest. Without backpressure the proxy would swallow all of it.
    let last = -1;
    let stable = 0;
    await until(() => {
      const pending = client.socket.writableLength;
      stable = pending === last ? stable + 1 : 0;
      last = pending;
      return stable >= 100;
    }, 'the client write buffer to stop draining', 20_000);
    const accepted = total - client.socket.writableLength;
    expect(accepted).toBeLessThan(64 * 1024 * 1024);
    expect(echo.received.flat().length).toBe(0);
  });

  it('blackhole reads and drops everything, keeps the socket open, and clear() restores passthrough', async () => {
    proxy.setToxics([{ type: 'blackhole' }]);
    const zombie = await connect(proxy.port);
    zombie.socket.write('anyone there?');
    // The proxy keeps reading: even a big write drains, it is not merely stuck in buffers.
    await new Promise<void>((resolve, reject) => zombie.socket.write(payload(8 * 1024 * 1024), (error) => (error ? reject(error) : resolve())));
    await until(() => echo.received.length === 1, 'the upstream connection');
    // A round trip over a second, clean connection (straight to the server) lets anything that
    // was going to arrive arrive.
    const direct = await connect(echo.port);
    await roundTrip(direct, 'clean');
    expect(zombie.data().length).toBe(0);
    expect(zombie.socket.destroyed).toBe(false);
    expect(zombie.socket.readyState).toBe('open');
    expect(echo.received[0]?.length).toBe(0);
    expect(proxy.connections).toBe(1);

    proxy.clear();
    // The same connection works again, and what the blackhole swallowed is gone, not late.
    await roundTrip(zombie, 'back from the dead');
    expect(zombie.data().toString()).toBe('back from the dead');
  });

  it('blackhole in one direction only: the server gets the request, the answer is lost', async () => {
    proxy.setToxics([{ type: 'blackhole', direction: 'downstream' }]);
    const client = await connect(proxy.port);
    client.socket.write('one way');
    await until(() => Buffer.concat(echo.received[0] ?? []).toString() === 'one way', 'the request upstream');
    await roundTrip(await connect(echo.port), 'clean');
    expect(client.data().length).toBe(0);
  });

  it('blackhole holds back a FIN and delivers it when lifted', async () => {
    proxy.setToxics([{ type: 'blackhole' }]);
    const client = await connect(proxy.port);
    await until(() => echo.sockets.size === 1, 'the upstream connection');
    const [upstream] = echo.sockets;
    let upstreamEnded = false;
    upstream?.on('end', () => {
      upstreamEnded = true;
    });
    client.socket.end();
    await roundTrip(await connect(echo.port), 'clean');
    expect(upstreamEnded).toBe(false);
    proxy.clear();
    // The echo server ends its side in turn, so the client's socket closes cleanly.
    expect(await client.closed).toBeUndefined();
    expect(upstreamEnded).toBe(true);
    await until(() => proxy.connections === 0, 'no open connection');
  });

  it('reset sends a real RST: open and new connections fail with ECONNRESET', async () => {
    const open = await connect(proxy.port);
    await roundTrip(open, 'before');
    await until(() => echo.sockets.size === 1, 'the upstream connection');
    const [upstream] = echo.sockets;
    const upstreamError = new Promise<string | undefined>((resolve) => upstream?.once('error', (error: NodeJS.ErrnoException) => resolve(error.code)));
    proxy.setToxics([{ type: 'reset' }]);
    expect((await open.closed)?.code).toBe('ECONNRESET');
    expect(await upstreamError).toBe('ECONNRESET');

    expect((await endOf(proxy.port))?.code).toBe('ECONNRESET');
    expect(echo.received.length).toBe(1); // the late one never reached the server

    proxy.clear();
    await roundTrip(await connect(proxy.port), 'after');
    await until(() => proxy.connections === 1, 'only the new connection open');
  });

  it('slicer delivers the same bytes in more, smaller chunks', async () => {
    const message = payload(600);
    const plain = await connect(proxy.port);
    plain.socket.write(message);
    await plain.waitFor(message.length);
    const plainChunks = echo.received[0]?.length ?? 0;

    proxy.setToxics([{ type: 'slicer', averageSize: 10, sizeVariation: 5, delayMs: 1, direction: 'upstream' }]);
    const sliced = await connect(proxy.port);
    sliced.socket.write(message);
    const echoed = await sliced.waitFor(message.length);
    expect(echoed.equals(message)).toBe(true);
    const upstreamChunks = echo.received[1] ?? [];
    expect(Buffer.concat(upstreamChunks).equals(message)).toBe(true);
    expect(upstreamChunks.length).toBeGreaterThan(Math.max(1, plainChunks));
  });

  it('slicer is deterministic given random, and also slices downstream by default', async () => {
    const sliced = await startFaultProxy({ upstream: { port: echo.port }, random: () => 0.5 });
    try {
      // random() = 0.5 → no variation: exactly 7-byte pieces, 20 ms apart (so none coalesce).
      sliced.setToxics([{ type: 'slicer', averageSize: 7, sizeVariation: 3, delayMs: 20 }]);
      const client = await connect(sliced.port);
      const message = payload(35);
      client.socket.write(message);
      const data = await client.waitFor(35);
      expect(data.equals(message)).toBe(true);
      expect(client.chunks.map((chunk) => chunk.length)).toEqual([7, 7, 7, 7, 7]);
    } finally {
      await sliced.close();
    }
  });

  it('limit_data closes the connection after exactly N bytes (downstream by default)', async () => {
    proxy.setToxics([{ type: 'limit_data', bytes: 10 }]);
    const client = await connect(proxy.port);
    const message = payload(100);
    client.socket.write(message);
    expect(await client.closed).toBeUndefined(); // a FIN, not a reset
    expect(client.data().equals(message.subarray(0, 10))).toBe(true);
    await until(() => proxy.connections === 0 && echo.sockets.size === 0, 'both sides closed');
  });

  it('limit_data upstream: the server receives exactly N bytes, then end of stream', async () => {
    proxy.setToxics([{ type: 'limit_data', bytes: 25, direction: 'upstream' }]);
    const client = await connect(proxy.port);
    client.socket.write(payload(40));
    client.socket.write(payload(40));
    await client.closed;
    await until(() => echo.sockets.size === 0, 'the upstream connection closed');
    expect(Buffer.concat(echo.received[0] ?? []).equals(payload(25))).toBe(true);
  });

  it('counts bytes from when the toxic was set', async () => {
    const client = await connect(proxy.port);
    await roundTrip(client, 'x'.repeat(50));
    proxy.setToxics([{ type: 'limit_data', bytes: 5 }]);
    client.socket.write('abcdefgh');
    await client.closed;
    expect(client.data().toString()).toBe(`${'x'.repeat(50)}abcde`);
  });

  it('clear() restores passthrough after several toxics at once', async () => {
    proxy.setToxics([
      { type: 'latency', latencyMs: 30, direction: 'both' },
      { type: 'slicer', averageSize: 3, direction: 'both' },
    ]);
    const client = await connect(proxy.port);
    expect(await roundTrip(client, 'under toxics')).toBeGreaterThanOrEqual(60);
    proxy.clear();
    const before = client.chunks.length;
    await roundTrip(client, 'a single chunk of plain passthrough');
    expect(client.data().toString()).toBe('under toxicsa single chunk of plain passthrough');
    expect(client.chunks.length - before).toBeGreaterThanOrEqual(1);
  });

  it('rejects invalid toxics without changing the current ones', async () => {
    proxy.setToxics([{ type: 'latency', latencyMs: 50 }]);
    expect(() => proxy.setToxics([{ type: 'latency', latencyMs: -1 }])).toThrow(RangeError);
    expect(() => proxy.setToxics([{ type: 'slicer', averageSize: 0 }])).toThrow(RangeError);
    expect(() => proxy.setToxics([{ type: 'limit_data', bytes: 1.5 }])).toThrow(RangeError);
    expect(() => proxy.setToxics([{ type: 'nope' } as never])).toThrow(TypeError);
    const client = await connect(proxy.port);
    expect(await roundTrip(client, 'still slow')).toBeGreaterThanOrEqual(50);
  });

  it('an unreachable upstream resets the client', async () => {
    const closedEcho = await startEcho();
    await closedEcho.close();
    const orphan = await startFaultProxy({ upstream: { port: closedEcho.port } });
    try {
      expect((await endOf(orphan.port))?.code).toBe('ECONNRESET');
    } finally {
      await orphan.close();
    }
  });

  it('close() destroys every connection, cancels pending timers and stops listening', async () => {
    const timeoutsBefore = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    proxy.setToxics([{ type: 'latency', latencyMs: 60_000, direction: 'both' }]);
    const a = await connect(proxy.port);
    const b = await connect(proxy.port);
    a.socket.write('held for a minute');
    b.socket.write('this too');
    await until(() => echo.sockets.size === 2, 'both upstream connections');
    await until(
      () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length > timeoutsBefore,
      'the latency timers',
    );
    await proxy.close();
    await a.closed;
    await b.closed;
    expect(proxy.connections).toBe(0);
    // The echo server's close resolves only once the proxy's upstream sockets are gone too.
    await until(() => echo.sockets.size === 0, 'upstream sockets closed');
    expect(process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length).toBeLessThanOrEqual(timeoutsBefore);
    await expect(connect(proxy.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await proxy.close(); // idempotent
  });
});
