import net from 'node:net';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * Which way a toxic acts: `upstream` is client → server (requests), `downstream` is
 * server → client (responses, event streams), `both` is each way independently.
 */
export type ToxicDirection = 'upstream' | 'downstream' | 'both';

/**
 * A slow network: a congested or long-haul link, a saturated NIC, a server GC pause that holds
 * every reply. Probes still succeed, only slower, which is exactly what tells "degraded" apart
 * from "dead". Each chunk is held `latencyMs ± jitterMs` (never below 0); chunks keep their order,
 * so a chunk drawn a short delay waits behind an earlier one drawn a long one, as on a real TCP
 * stream. Default direction `downstream` (as in toxiproxy), so a request/reply round trip grows
 * by about `latencyMs`; `both` doubles that.
 */
export interface LatencyToxic {
  /** Selects this toxic. */
  type: 'latency';
  /** How long each chunk is held (ms). */
  latencyMs: number;
  /** Uniform ± spread around `latencyMs`, drawn from `random`. */
  jitterMs?: number;
  /** Default `downstream`. */
  direction?: ToxicDirection;
}

/**
 * The zombie peer: a SIGSTOPped or deadlocked server, a NAT or firewall that silently drops a
 * flow's packets, a half-dead VM. TCP looks fine (connects succeed, sockets stay open, no error
 * ever arrives), only nothing comes back, so only an application-level deadline can notice. The
 * proxy keeps reading and drops what it reads (so nothing buffers), and swallows FIN too: a server
 * closing an idle keep-alive socket behind the blackhole must not tip the client off. A swallowed
 * FIN is delivered when the blackhole lifts, as a healed partition would. Default direction
 * `both`: nothing passes either way.
 */
export interface BlackholeToxic {
  /** Selects this toxic. */
  type: 'blackhole';
  /** Default `both`. */
  direction?: ToxicDirection;
}

/**
 * The peer that slams the door: a crashed server host whose kernel answers with RST, a load
 * balancer or conntrack table that forgot the flow, a proxy restarting. Every current connection
 * gets a real TCP RST on both sides (`socket.resetAndDestroy()`), so the client sees
 * `ECONNRESET` rather than an orderly end of stream; connections arriving while the toxic is set
 * are accepted and reset at once (never reaching the upstream).
 */
export interface ResetToxic {
  /** Selects this toxic. */
  type: 'reset';
}

/**
 * Fragmentation: small MTUs, tunnels, middleboxes and slow links that deliver a message in many
 * small reads. Code that assumes one `data` event per message (a JSON-RPC line, an SSE event)
 * breaks only under this. Each chunk is split into pieces of `averageSize ± sizeVariation`
 * bytes (at least 1), written `delayMs` apart. Default direction `downstream`.
 */
export interface SlicerToxic {
  /** Selects this toxic. */
  type: 'slicer';
  /** Mean size of a piece (bytes, at least 1). */
  averageSize: number;
  /** Uniform ± spread around `averageSize` (bytes); default 0. */
  sizeVariation?: number;
  /** Pause between two pieces; 0 (default) writes them back to back. */
  delayMs?: number;
  /** Default `downstream`. */
  direction?: ToxicDirection;
}

/**
 * A transfer cut off midway: an idle or byte-quota timeout on a middlebox, a proxy with a body
 * size limit, a server that crashes while streaming. Once `bytes` bytes have passed in the
 * toxic's direction (counted from when the toxic was set, per connection and per direction),
 * the connection is closed with a FIN on both sides, so the receiver gets a truncated message
 * and then end of stream. Default direction `downstream`.
 */
export interface LimitDataToxic {
  /** Selects this toxic. */
  type: 'limit_data';
  /** Bytes let through per connection and direction before it is closed. */
  bytes: number;
  /** Default `downstream`. */
  direction?: ToxicDirection;
}

/** One network fault a {@link FaultProxy} can inject; several may be set at once. */
export type Toxic = LatencyToxic | BlackholeToxic | ResetToxic | SlicerToxic | LimitDataToxic;

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Where connections are forwarded; `host` defaults to 127.0.0.1. */
  upstream: { host?: string; port: number };
  /** Listening port; 0 (default) lets the OS pick one. */
  port?: number;
  /** Listening address; 127.0.0.1 by default, so a test proxy is never reachable from outside. */
  host?: string;
  /** Source of randomness for jitter and slice sizes, in [0, 1); inject a seeded one for repeatable runs. */
  random?: () => number;
}

/** A running fault proxy: set and clear toxics while a test runs. */
export interface FaultProxy {
  /** The port it listens on (the one the OS chose when asked for 0). */
  readonly port: number;
  /** The address it listens on. */
  readonly host: string;
  /** `http://<host>:<port><path>`, e.g. `proxy.url('/mcp')`. */
  url(path?: string): string;
  /** Replaces every toxic. Applies to open connections at once as well as to new ones. */
  setToxics(toxics: Toxic[]): void;
  /** Removes every toxic: plain passthrough again (data a blackhole already dropped stays lost). */
  clear(): void;
  /** Client connections currently open. */
  readonly connections: number;
  /** Destroys every connection, cancels every timer and stops listening. */
  close(): Promise<void>;
}

/**
 * Queued bytes per direction above which the proxy stops reading the source socket, so a
 * delayed connection cannot make the proxy buffer without limit (TCP flow control then pushes
 * back on the sender, as a slow link would).
 */
const MAX_QUEUED_BYTES = 1024 * 1024;
/** After limit_data closes a connection with FIN, how long a peer gets to close its side. */
const LINGER_MS = 1_000;

/**
 * Starts a TCP proxy in front of `options.upstream` that injects network faults on demand, in
 * the manner of Shopify's toxiproxy: test how a client copes with latency, zombies, resets,
 * fragmentation and truncation without touching the server.
 *
 * @example
 * ```ts
 * const proxy = await startFaultProxy({ upstream: { port: serverPort } });
 * const connection = createConnection({ id: 'x', target: { type: 'streamable-http', url: proxy.url('/mcp') } });
 * proxy.setToxics([{ type: 'latency', latencyMs: 1_500, jitterMs: 100 }]); // slow: degraded
 * proxy.setToxics([{ type: 'blackhole' }]); // no answers: zombie, then reconnecting
 * proxy.clear();
 * await proxy.close();
 * ```
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  validateUpstream(options.upstream);
  const proxy = new FaultProxyServer(options);
  await proxy.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return proxy;
}

function validateUpstream(upstream: FaultProxyOptions['upstream']): void {
  if (!upstream || !Number.isInteger(upstream.port) || upstream.port < 1 || upstream.port > 65_535) {
    throw new RangeError(`upstream.port must be an integer in 1..65535, got ${String(upstream?.port)}`);
  }
}

function validateToxic(toxic: Toxic): void {
  const nonNegative = (name: string, value: unknown): void => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`${toxic.type}.${name} must be a finite number >= 0, got ${String(value)}`);
    }
  };
  if ('direction' in toxic && toxic.direction !== undefined && !['upstream', 'downstream', 'both'].includes(toxic.direction)) {
    throw new RangeError(`${toxic.type}.direction must be upstream, downstream or both, got ${String(toxic.direction)}`);
  }
  switch (toxic.type) {
    case 'latency':
      nonNegative('latencyMs', toxic.latencyMs);
      if (toxic.jitterMs !== undefined) nonNegative('jitterMs', toxic.jitterMs);
      return;
    case 'slicer':
      nonNegative('averageSize', toxic.averageSize);
      if (toxic.averageSize < 1) throw new RangeError(`slicer.averageSize must be >= 1, got ${toxic.averageSize}`);
      if (toxic.sizeVariation !== undefined) nonNegative('sizeVariation', toxic.sizeVariation);
      if (toxic.delayMs !== undefined) nonNegative('delayMs', toxic.delayMs);
      return;
    case 'limit_data':
      nonNegative('bytes', toxic.bytes);
      if (!Number.isInteger(toxic.bytes)) throw new RangeError(`limit_data.bytes must be an integer, got ${toxic.bytes}`);
      return;
    case 'blackhole':
    case 'reset':
      return;
    default:
      throw new TypeError(`unknown toxic type ${JSON.stringify((toxic as { type?: unknown }).type)}`);
  }
}

type Flow = 'upstream' | 'downstream';

const DEFAULT_DIRECTION: Record<Exclude<Toxic['type'], 'reset'>, ToxicDirection> = {
  latency: 'downstream',
  blackhole: 'both',
  slicer: 'downstream',
  limit_data: 'downstream',
};

function appliesTo(toxic: Exclude<Toxic, ResetToxic>, flow: Flow): boolean {
  const direction = toxic.direction ?? DEFAULT_DIRECTION[toxic.type];
  return direction === 'both' || direction === flow;
}

/** A unit in a direction's queue: some bytes and/or the source's FIN, released at `due`. */
interface Piece {
  data?: Buffer;
  end?: true;
  /** limit_data reached with this piece: close the connection once it is written. */
  closeAfter?: true;
  due: number;
}

/** One toxic's per-connection, per-direction state; maps arriving pieces to outgoing ones. */
type Stage = (pieces: Piece[]) => Piece[];

function latencyStage(toxic: LatencyToxic, random: () => number): Stage {
  let last = Number.NEGATIVE_INFINITY;
  return (pieces) =>
    pieces.map((piece) => {
      const jitter = toxic.jitterMs ? (random() * 2 - 1) * toxic.jitterMs : 0;
      // Never earlier than the piece before it: a stream does not reorder.
      last = Math.max(last, piece.due + Math.max(0, toxic.latencyMs + jitter));
      return { ...piece, due: last };
    });
}

function slicerStage(toxic: SlicerToxic, random: () => number): Stage {
  let nextAt = Number.NEGATIVE_INFINITY;
  const delay = toxic.delayMs ?? 0;
  const variation = toxic.sizeVariation ?? 0;
  return (pieces) => {
    const out: Piece[] = [];
    for (const piece of pieces) {
      if (!piece.data || piece.data.length === 0) {
        out.push({ ...piece, due: Math.max(piece.due, nextAt) });
        continue;
      }
      const { data } = piece;
      for (let offset = 0; offset < data.length; ) {
        const drawn = Math.round(toxic.averageSize + (random() * 2 - 1) * variation);
        const size = Math.min(Math.max(1, drawn), data.length - offset);
        const due = Math.max(piece.due, nextAt);
        nextAt = due + delay;
        const slice: Piece = { data: data.subarray(offset, offset + size), due };
        offset += size;
        if (offset >= data.length) {
          if (piece.end) slice.end = true;
          if (piece.closeAfter) slice.closeAfter = true;
        }
        out.push(slice);
      }
    }
    return out;
  };
}

function limitStage(toxic: LimitDataToxic): Stage {
  let passed = 0;
  let done = false;
  return (pieces) => {
    const out: Piece[] = [];
    for (const piece of pieces) {
      if (done) break;
      const length = piece.data?.length ?? 0;
      if (piece.data && passed + length >= toxic.bytes) {
        out.push({ data: piece.data.subarray(0, toxic.bytes - passed), closeAfter: true, due: piece.due });
        passed = toxic.bytes;
        done = true;
        break;
      }
      passed += length;
      out.push(piece);
    }
    return out;
  };
}

function createStage(toxic: LatencyToxic | SlicerToxic | LimitDataToxic, random: () => number): Stage {
  switch (toxic.type) {
    case 'latency':
      return latencyStage(toxic, random);
    case 'slicer':
      return slicerStage(toxic, random);
    case 'limit_data':
      return limitStage(toxic);
  }
}

const now = (): number => performance.now();

/** One direction of a proxied connection: reads `source`, applies its toxics, writes `dest`. */
class Pipe {
  private queue: Piece[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private stages: Stage[] = [];
  private blackholed = false;
  /** The source's FIN, held back by a blackhole. */
  private swallowedEnd = false;
  /** limit_data reached: nothing more passes. */
  private limited = false;
  private awaitingDrain = false;
  private dead = false;

  constructor(
    private readonly flow: Flow,
    private readonly source: Socket,
    private readonly dest: Socket,
    private readonly random: () => number,
    private readonly onLimit: () => void,
  ) {
    source.on('data', (chunk: Buffer) => this.onData(chunk));
    source.on('end', () => this.onEnd());
    dest.on('drain', () => {
      this.awaitingDrain = false;
      this.updateFlow();
    });
  }

  configure(toxics: readonly Toxic[]): void {
    if (this.dead) return;
    const mine = toxics.filter((toxic): toxic is Exclude<Toxic, ResetToxic> => toxic.type !== 'reset' && appliesTo(toxic, this.flow));
    this.blackholed = mine.some((toxic) => toxic.type === 'blackhole');
    this.stages = mine.flatMap((toxic) => (toxic.type === 'blackhole' ? [] : [createStage(toxic, this.random)]));
    if (this.blackholed) {
      // From now on nothing passes, not even what was already waiting in the queue.
      if (this.queue.some((piece) => piece.end)) this.swallowedEnd = true;
      this.queue = [];
      this.queuedBytes = 0;
    } else if (this.swallowedEnd) {
      this.swallowedEnd = false;
      this.accept({ end: true, due: now() });
    }
    this.restartPump();
  }

  /** Stops everything: no more writes, no timer; whatever still arrives is read and dropped. */
  kill(): void {
    this.dead = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.clearTimer();
    if (!this.source.destroyed) this.source.resume();
  }

  private onData(chunk: Buffer): void {
    if (this.dead || this.limited || this.blackholed) return;
    this.accept({ data: chunk, due: now() });
  }

  private onEnd(): void {
    if (this.dead || this.limited) return;
    if (this.blackholed) {
      this.swallowedEnd = true;
      return;
    }
    this.accept({ end: true, due: now() });
  }

  private accept(piece: Piece): void {
    let pieces = [piece];
    for (const stage of this.stages) pieces = stage(pieces);
    for (const out of pieces) {
      this.queue.push(out);
      this.queuedBytes += out.data?.length ?? 0;
      if (out.closeAfter) {
        this.limited = true;
        break;
      }
    }
    if (this.timer === undefined) this.pump();
    this.updateFlow();
  }

  private restartPump(): void {
    this.clearTimer();
    this.pump();
    this.updateFlow();
  }

  private pump(): void {
    this.timer = undefined;
    for (let head = this.queue[0]; head !== undefined && !this.dead; head = this.queue[0]) {
      const wait = head.due - now();
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.pump();
          this.updateFlow();
        }, Math.ceil(wait));
        return;
      }
      this.queue.shift();
      this.queuedBytes -= head.data?.length ?? 0;
      this.deliver(head);
    }
  }

  private deliver(piece: Piece): void {
    const writable = !this.dest.destroyed && !this.dest.writableEnded;
    if (writable && piece.data && piece.data.length > 0 && !this.dest.write(piece.data)) this.awaitingDrain = true;
    if (writable && piece.end) this.dest.end();
    if (piece.closeAfter) this.onLimit();
  }

  /** Pauses the source while the queue is over its bound or the destination wants a drain. */
  private updateFlow(): void {
    if (this.dead || this.source.destroyed) return;
    const pause = !this.blackholed && (this.queuedBytes > MAX_QUEUED_BYTES || this.awaitingDrain);
    if (pause && !this.source.isPaused()) this.source.pause();
    else if (!pause && this.source.isPaused()) this.source.resume();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** One proxied connection: the accepted client socket, its upstream socket and two pipes. */
class Link {
  readonly upstream: Socket;
  /** Resolves once both sockets have emitted 'close'. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private readonly pipes: [Pipe, Pipe];
  private lingerTimer: NodeJS.Timeout | undefined;
  private finished = false;
  private closeEvents = 0;

  constructor(
    readonly client: Socket,
    target: { host: string; port: number },
    toxics: readonly Toxic[],
    random: () => number,
    private readonly onDone: (link: Link) => void,
  ) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    client.setNoDelay(true);
    this.upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    this.upstream.setNoDelay(true);
    this.pipes = [
      new Pipe('upstream', client, this.upstream, random, () => this.terminate()),
      new Pipe('downstream', this.upstream, client, random, () => this.terminate()),
    ];
    // An abnormal end on one side (RST, refused upstream, EPIPE) is passed on as an RST.
    client.on('error', () => this.reset());
    this.upstream.on('error', () => this.reset());
    client.on('close', () => this.onClose());
    this.upstream.on('close', () => this.onClose());
    this.configure(toxics);
  }

  configure(toxics: readonly Toxic[]): void {
    for (const pipe of this.pipes) pipe.configure(toxics);
  }

  /** limit_data: FIN both ways; a peer that does not close its side is destroyed after LINGER_MS. */
  terminate(): void {
    if (this.finished) return;
    this.stopPipes();
    for (const socket of [this.client, this.upstream]) if (!socket.destroyed && !socket.writableEnded) socket.end();
    this.lingerTimer ??= setTimeout(() => this.destroy(), LINGER_MS);
  }

  /** TCP RST to both peers. */
  reset(): void {
    this.stopPipes();
    for (const socket of [this.client, this.upstream]) if (!socket.destroyed) socket.resetAndDestroy();
  }

  destroy(): void {
    this.stopPipes();
    this.client.destroy();
    this.upstream.destroy();
  }

  private stopPipes(): void {
    for (const pipe of this.pipes) pipe.kill();
  }

  private onClose(): void {
    // 'destroyed' turns true at destroy(); 'close' is emitted a tick or more later.
    this.closeEvents += 1;
    if (this.finished || this.closeEvents < 2) return;
    this.finished = true;
    this.stopPipes();
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.onDone(this);
    this.resolveDone();
  }
}

class FaultProxyServer implements FaultProxy {
  host = '127.0.0.1';
  port = 0;
  private toxics: readonly Toxic[] = [];
  private readonly links = new Set<Link>();
  /** Client sockets not yet closed, reset-on-arrival ones included. */
  private readonly clients = new Set<Socket>();
  private readonly server: net.Server;
  private readonly target: { host: string; port: number };
  private readonly random: () => number;
  private closing: Promise<void> | undefined;

  constructor(options: FaultProxyOptions) {
    this.target = { host: options.upstream.host ?? '127.0.0.1', port: options.upstream.port };
    this.random = options.random ?? Math.random;
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  get connections(): number {
    return this.clients.size;
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        if (address === null || typeof address === 'string') {
          reject(new Error(`fault proxy: unexpected listening address ${String(address)}`));
          return;
        }
        this.host = host;
        this.port = address.port;
        resolve();
      });
    });
  }

  url(path = ''): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.port}${path}`;
  }

  setToxics(toxics: Toxic[]): void {
    for (const toxic of toxics) validateToxic(toxic);
    this.toxics = Object.freeze(toxics.map((toxic) => Object.freeze({ ...toxic })));
    if (this.resetting()) {
      for (const link of this.links) link.reset();
      return;
    }
    for (const link of this.links) link.configure(this.toxics);
  }

  clear(): void {
    this.setToxics([]);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // Every socket in these sets has yet to emit 'close' (each leaves its set on it), so
      // close() resolves only once nothing of ours is left.
      const gone = [
        ...[...this.clients].map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()))),
        ...[...this.links].map((link) => link.done),
      ];
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const link of this.links) link.destroy();
      for (const socket of this.clients) socket.destroy();
      await Promise.all([stopped, ...gone]);
    })();
    return this.closing;
  }

  private resetting(): boolean {
    return this.toxics.some((toxic) => toxic.type === 'reset');
  }

  private accept(socket: Socket): void {
    this.clients.add(socket);
    socket.on('close', () => this.clients.delete(socket));
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.resetting()) {
      socket.on('error', () => undefined);
      socket.resetAndDestroy();
      return;
    }
    const link = new Link(socket, this.target, this.toxics, this.random, (done) => this.links.delete(done));
    this.links.add(link);
  }
}
