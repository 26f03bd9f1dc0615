import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import { ConnectionError } from '../../core/errors.js';
import type { ProcessParams } from '../../core/target.js';
import type { LogRing } from '../log-ring.js';


/** How a process ended: its exit code, or the signal that killed it. */
export interface ProcessExit {
  /** The exit code; null when a signal ended the process. */
  code: number | null;
  /** The signal that ended the process (e.g. `SIGKILL`); null when it exited on its own. */
  signal: NodeJS.Signals | null;
}

/** How long a stdio server is given at each step of its teardown (close stdin → SIGTERM → SIGKILL). */
export interface TeardownTimings {
  /** After closing stdin, how long a well-behaved server gets to exit on its own. */
  stdinGraceMs: number;
  /** After SIGTERM to the process group, how long before SIGKILL. */
  termGraceMs: number;
}

export const DEFAULT_TEARDOWN: TeardownTimings = { stdinGraceMs: 500, termGraceMs: 2_000 };

/** Told when a server process starts and ends; the supervisor keeps per-server facts from these. */
export interface ProcessObserver {
  started(pid: number, at: number): void;
  exited(pid: number, exit: ProcessExit, at: number): void;
}

/**
 * One server process as the leader of its own process group. Signalling the group (not just
 * the child) is what reaches the real server behind an `npx` or shell wrapper; SIGCONT goes with
 * SIGTERM so a SIGSTOPped group can act on it. stderr (and stdout, when it is not the protocol)
 * is read eagerly into a bounded ring, so the child never blocks on a full pipe.
 */
export class ProcessGroup {
  private exitInfo: ProcessExit | undefined;
  /** When the leader exited (epoch ms). */
  exitedAt: number | undefined;
  private terminating: Promise<void> | undefined;
  /** Told once teardown's final SIGKILL has gone to the group: nothing of it is left. */
  private onEnded: ((pgid: number) => void) | undefined;
  readonly exited: Promise<ProcessExit>;

  private constructor(
    readonly child: ChildProcess,
    readonly pid: number,
    readonly startedAt: number,
  ) {
    this.exited = new Promise<ProcessExit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.exitedAt = Date.now();
        resolve(this.exitInfo);
      });
    });
  }

  /**
   * Spawns `params` in a new process group. Resolves once it runs; rejects with the spawn error
   * when there is no process at all: emitted (ENOENT, EACCES) or thrown at once by `spawn` (E2BIG,
   * ENOTDIR, ERR_INVALID_ARG_VALUE for a NUL byte in an argument or env value), with the command as
   * its `path`. A missing working directory, which Node reports as the command's ENOENT, is said
   * as such.
   */
  static spawn(
    params: ProcessParams,
    options: { logs: LogRing; stdoutIsProtocol: boolean; observer?: ProcessObserver; onGroupStarted?: (pgid: number) => void; onGroupEnded?: (pgid: number) => void },
  ): Promise<ProcessGroup> {
    return new Promise<ProcessGroup>((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(params.command, params.args ?? [], {
          env: { ...getDefaultEnvironment(), ...params.env },
          cwd: params.cwd,
          stdio: ['pipe', 'pipe', 'pipe'],
          detached: true,
          shell: false,
          windowsHide: true,
        });
      } catch (error) {
        reject(spawnFailure(error, params));
        return;
      }
      child.stdin?.on('error', () => undefined);
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => options.logs.write(chunk, 'stderr'));
      child.stderr?.once('end', () => options.logs.flush('stderr'));
      if (!options.stdoutIsProtocol) {
        child.stdout?.setEncoding('utf8');
        child.stdout?.on('data', (chunk: string) => options.logs.write(chunk, 'stdout'));
        child.stdout?.once('end', () => options.logs.flush('stdout'));
      }
      child.once('error', (error) => {
        if (child.pid === undefined) reject(spawnFailure(error, params));
      });
      child.once('spawn', () => {
        const pid = child.pid;
        if (pid === undefined) return;
        const group = new ProcessGroup(child, pid, Date.now());
        options.observer?.started(pid, group.startedAt);
        options.onGroupStarted?.(pid);
        void group.exited.then((exit) => options.observer?.exited(pid, exit, Date.now()));
        group.onEnded = options.onGroupEnded;
        resolve(group);
      });
    });
  }

  /** How the leader ended, once it has. */
  get exit(): ProcessExit | undefined {
    return this.exitInfo;
  }

  /**
   * Idempotent: close stdin, then SIGTERM + SIGCONT to the group, then SIGKILL; resolves once the
   * leader has exited and every straggler in the group has been sent SIGKILL.
   */
  terminate(timings: TeardownTimings = DEFAULT_TEARDOWN): Promise<void> {
    this.terminating ??= this.escalate(timings);
    return this.terminating;
  }

  private async escalate(timings: TeardownTimings): Promise<void> {
    if (this.exitInfo === undefined) {
      this.child.stdin?.end();
      if (!(await settlesWithin(this.exited, timings.stdinGraceMs))) {
        signalGroup(this.pid, 'SIGTERM');
        signalGroup(this.pid, 'SIGCONT');
        if (!(await settlesWithin(this.exited, timings.termGraceMs))) {
          signalGroup(this.pid, 'SIGKILL');
          await this.exited;
        }
      }
    }
    // The leader may be gone while descendants it forked linger in the group.
    signalGroup(this.pid, 'SIGKILL');
    this.onEnded?.(this.pid);
  }
}

/** A spawn error with the command as its `path` (E2BIG and ENOTDIR come without), or a clearer one. */
function spawnFailure(error: unknown, params: ProcessParams): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const failure = error as NodeJS.ErrnoException;
  if (failure.code === 'ENOENT' && params.cwd !== undefined && !existsSync(params.cwd)) {
    return new ConnectionError('permanent', `cannot start "${params.command}": the working directory "${params.cwd}" does not exist`, { cause: error });
  }
  if (typeof failure.syscall === 'string' && failure.syscall.startsWith('spawn') && failure.path === undefined) failure.path = params.command;
  return error;
}

/** SIGKILL to a process group (a server started by {@link ProcessGroup.spawn} leads its own); nothing if it is empty. */
export function killProcessGroup(groupId: number): void {
  signalGroup(groupId, 'SIGKILL');
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
