import type { Writable } from 'node:stream';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/client';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import { LogRing } from '../log-ring.js';
import { DEFAULT_TEARDOWN, ProcessGroup } from '../process/process-group.js';
import type { ProcessParams } from '../../core/target.js';
import type { ProcessExit, TeardownTimings } from '../process/process-group.js';
import type { ProcessSupport } from '../process/support.js';

export type StdioServerParams = ProcessParams;
/** How long a stdio server gets after stdin closes, and after SIGTERM; default 500 ms and 2000 ms. */
export type StdioTeardownTimings = TeardownTimings;
export type { ProcessExit };
export const DEFAULT_STDIO_TEARDOWN = DEFAULT_TEARDOWN;
/** The largest message a stdio server may send (the SDK's default, 10 MiB). */
const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/**
 * MCP over a child's stdin/stdout, written on the SDK's `Transport` interface and its
 * `ReadBuffer`. We do not use the SDK's `StdioClientTransport` because it signals only the direct
 * child: an `npx` or shell wrapper's grandchildren outlive it, and a SIGSTOPped child ignores its
 * SIGTERM. Here the child leads its own process group (`ProcessGroup`), and `close()` resolves only
 * once the child has exited, so a new attempt never overlaps the old process.
 */
export class StdioProcessTransport implements Transport {
  // Era negotiation probes in place on this one process: the SDK spawns a throwaway second copy
  // of the server only for its own StdioClientTransport. It recognises a stdio transport by its
  // `stderr` and `pid` (a probe timeout then means "legacy", not an error), and `sessionId` must
  // stay undefined here, or connect() would skip the handshake.
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly stderr: LogRing;
  private group: ProcessGroup | undefined;
  /** The spawn in progress (or done): `close()` waits for it, so a process spawned during a close is still ended. */
  private starting: Promise<void> | undefined;
  private readonly readBuffer = new ReadBuffer({ maxBufferSize: MAX_MESSAGE_BYTES });
  private closing: Promise<void> | undefined;
  /** Whether this turn of the event loop has written a message yet (see `send`). */
  private turnWritten = false;
  /** The wait for stdin to drain, while a send waits for it. */
  private draining: Promise<void> | undefined;

  constructor(
    private readonly params: StdioServerParams,
    private readonly teardown: StdioTeardownTimings = DEFAULT_TEARDOWN,
    stderr?: LogRing,
    private readonly support: ProcessSupport = {},
  ) {
    this.stderr = stderr ?? new LogRing();
  }

  get pid(): number | undefined {
    return this.group?.pid;
  }

  /** The child's process group, once started. */
  get processGroup(): ProcessGroup | undefined {
    return this.group;
  }

  /** How the child ended, once it has. */
  get exit(): ProcessExit | undefined {
    return this.group?.exit;
  }

  async start(): Promise<void> {
    if (this.group || this.starting) throw new Error('StdioProcessTransport already started');
    this.starting = this.spawn();
    await this.starting;
    // Closed while the process was being spawned: close() ends it (it waited for this spawn).
    if (this.closing) throw new Error('Not connected: closed while starting');
  }

  private async spawn(): Promise<void> {
    const group = await ProcessGroup.spawn(this.params, {
      logs: this.stderr,
      stdoutIsProtocol: true,
      observer: this.support.observer,
      onGroupStarted: (pgid) => this.support.watchdog?.watch(pgid),
      onGroupEnded: (pgid) => this.support.watchdog?.forget(pgid),
    });
    this.group = group;
    const { child } = group;
    child.once('close', () => this.onclose?.());
    child.stdin?.on('error', (error) => this.onerror?.(error));
    child.stdout?.on('error', (error) => this.onerror?.(error));
    child.stdout?.on('data', (chunk: Buffer) => {
      try {
        this.readBuffer.append(chunk);
      } catch (error) {
        this.onerror?.(error as Error);
        return;
      }
      this.drainMessages();
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.group?.child.stdin;
    if (!stdin || stdin.destroyed || this.closing) throw new Error('Not connected');
    // The first message of a turn of the event loop is written at once, so the child starts on it
    // while we go on; the rest of that turn's messages wait and go to the child in one write at the
    // turn's check phase. With calls in flight, a write per message cost the most CPU of a proxied
    // tool call (each one a syscall that wakes the child, which then reads them one by one).
    // `end()` on close uncorks whatever is left.
    if (!this.turnWritten) {
      this.turnWritten = true;
      setImmediate(() => {
        this.turnWritten = false;
        if (stdin.writableCorked > 0) stdin.uncork();
      });
    } else if (stdin.writableCorked === 0) {
      stdin.cork();
    }
    const accepted = stdin.write(serializeMessage(message));
    // A held batch as large as the high-water mark goes now: nothing waits on a batch of its own.
    if (stdin.writableCorked > 0 && stdin.writableLength >= stdin.writableHighWaterMark) stdin.uncork();
    if (!accepted && stdin.writableNeedDrain) await this.drained(stdin);
  }

  /** One wait for the pipe to drain, shared by every send that met backpressure; it also ends when stdin closes. */
  private drained(stdin: Writable): Promise<void> {
    if (stdin.destroyed) return Promise.resolve();
    this.draining ??= new Promise<void>((resolve) => {
      const done = () => {
        stdin.off('drain', done);
        stdin.off('close', done);
        this.draining = undefined;
        resolve();
      };
      stdin.on('drain', done);
      stdin.on('close', done);
    });
    return this.draining;
  }

  /** Idempotent; resolves once the child (and the signals to its group) are done. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // A close during start() must not miss the process the spawn is about to hand over.
      await this.starting?.catch(() => undefined);
      await this.group?.terminate(this.teardown);
      this.readBuffer.clear();
    })();
    return this.closing;
  }

  private drainMessages(): void {
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = this.readBuffer.readMessage();
      } catch (error) {
        this.onerror?.(error as Error);
        continue;
      }
      if (message === null) return;
      this.onmessage?.(message);
    }
  }
}
