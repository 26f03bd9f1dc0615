import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { LogRing } from '../log-ring.js';

export interface StdioServerParams {
  command: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface StdioTeardownTimings {
  /** After closing stdin, how long a well-behaved server gets to exit on its own. */
  stdinGraceMs: number;
  /** After SIGTERM to the process group, how long before SIGKILL. */
  termGraceMs: number;
}

export const DEFAULT_STDIO_TEARDOWN: StdioTeardownTimings = { stdinGraceMs: 500, termGraceMs: 2_000 };

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * MCP over a child's stdin/stdout, written on the SDK's `Transport` interface and its
 * `ReadBuffer`. We do not use the SDK's `StdioClientTransport` because it signals only the direct
 * child: an `npx` or shell wrapper's grandchildren outlive it, and a SIGSTOPped child ignores its
 * SIGTERM. Here the child leads its own process group, teardown signals the whole group (with
 * SIGCONT so a stopped group can act on SIGTERM), and `close()` resolves only once the child has
 * exited, so a new attempt never overlaps the old process.
 */
export class StdioProcessTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly stderr: LogRing;
  private child: ChildProcess | undefined;
  private readonly readBuffer = new ReadBuffer();
  private exitInfo: ProcessExit | undefined;
  private exitPromise: Promise<ProcessExit> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly params: StdioServerParams,
    private readonly teardown: StdioTeardownTimings = DEFAULT_STDIO_TEARDOWN,
    stderr?: LogRing,
  ) {
    this.stderr = stderr ?? new LogRing();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** How the child ended, once it has. */
  get exit(): ProcessExit | undefined {
    return this.exitInfo;
  }

  start(): Promise<void> {
    if (this.child) throw new Error('StdioProcessTransport already started');
    return new Promise<void>((resolve, reject) => {
      const child = spawn(this.params.command, this.params.args ?? [], {
        env: { ...getDefaultEnvironment(), ...this.params.env },
        cwd: this.params.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        shell: false,
        windowsHide: true,
      });
      this.child = child;
      this.exitPromise = new Promise<ProcessExit>((resolveExit) => {
        child.once('exit', (code, signal) => {
          this.exitInfo = { code, signal };
          resolveExit(this.exitInfo);
        });
      });
      child.once('error', (error) => {
        if (child.pid === undefined) {
          // Spawning failed (ENOENT, EACCES): there is no process to wait for.
          this.exitInfo = { code: null, signal: null };
          reject(error);
        } else {
          this.onerror?.(error);
        }
      });
      child.once('spawn', () => resolve());
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
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => this.stderr.write(chunk, 'stderr'));
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed || this.closing) throw new Error('Not connected');
    if (!stdin.write(serializeMessage(message))) {
      await new Promise<void>((resolve) => stdin.once('drain', resolve));
    }
  }

  /** Idempotent; resolves once the child (and the signals to its group) are done. */
  close(): Promise<void> {
    this.closing ??= this.terminate();
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

  private async terminate(): Promise<void> {
    const child = this.child;
    const exited = this.exitPromise;
    if (!child || !exited || child.pid === undefined) return;
    const groupId = child.pid;
    if (this.exitInfo === undefined) {
      child.stdin?.end();
      if (!(await settlesWithin(exited, this.teardown.stdinGraceMs))) {
        signalGroup(groupId, 'SIGTERM');
        signalGroup(groupId, 'SIGCONT');
        if (!(await settlesWithin(exited, this.teardown.termGraceMs))) {
          signalGroup(groupId, 'SIGKILL');
          await exited;
        }
      }
    }
    // The leader may be gone while descendants it forked linger in the group.
    signalGroup(groupId, 'SIGKILL');
    this.readBuffer.clear();
  }
}

function signalGroup(groupId: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-groupId, signal);
  } catch {
    // ESRCH: the group is already empty.
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
