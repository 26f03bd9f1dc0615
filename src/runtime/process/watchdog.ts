import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ProcessExit } from './process-group.js';
import type { GroupWatchdog } from './support.js';

/*
 * Why a helper process.
 *
 * Every server runs as the leader of its own process group (so a group signal reaches the real
 * server behind an `npx` or shell wrapper, and Ctrl-C in the supervisor's terminal is the
 * supervisor's to handle, not every server's). The flip side: when the supervisor dies without
 * running its teardown (SIGKILL, the OOM killer, a native crash), nothing ends those groups; each
 * server would only go if it noticed its stdin closing, and the grandchildren not even then.
 *
 * Linux has `prctl(PR_SET_PDEATHSIG)` for "signal me when my parent dies", but Node has no API for
 * it (it must be called in the child between fork and exec, which `child_process` does not let us
 * do), it would only reach the direct child rather than its group, and it fires when the parent
 * *thread* ends. So instead one small plain-JS process per supervisor holds the read end of a pipe
 * whose write end only the supervisor holds. The kernel closes that end however the supervisor
 * dies, the helper sees EOF and ends every group it was told about: SIGTERM + SIGCONT, then after
 * a grace period SIGKILL. A changed parent pid (polled) is the fallback, in case the pipe's write
 * end leaked into another process that outlives us.
 *
 * The helper is spawned `detached` (its own session and group), so Ctrl-C or a SIGHUP meant for
 * the supervisor's terminal cannot kill it before the supervisor has died; it learns of that death
 * from the pipe. Its handles are unref'd: it never keeps the supervisor's event loop alive.
 *
 * Caveat: a group id is the leader's pid. `forget` a group once it has ended (ProcessGroup's
 * `onGroupEnded`), so that a much later reuse of that pid as some unrelated group's id is never
 * signalled.
 */

const HELPER = fileURLToPath(new URL('./watchdog-process.mjs', import.meta.url));

/** Options of {@link startWatchdog}; every field has a default. */
export interface WatchdogOptions {
  /** After SIGTERM to the groups of a dead supervisor, how long before SIGKILL; default 2000. */
  graceMs?: number;
  /** How long the helper may take to start; default 5000. */
  readyTimeoutMs?: number;
  /** The helper script; default the `watchdog-process.mjs` next to this module. */
  helperPath?: string;
}

/**
 * Ends every watched process group if this process dies without ending them itself. Hand it to
 * whatever spawns server processes (`watch` on start, `forget` once the group has ended), and
 * `close()` it on a normal shutdown, after the servers have been stopped.
 */
export class Watchdog implements GroupWatchdog {
  private readonly groups = new Set<number>();
  private closing: Promise<void> | undefined;
  private exitInfo: ProcessExit | undefined;
  /** Resolves when the helper process has exited, for whatever reason. */
  readonly exited: Promise<ProcessExit>;

  /** @internal use `startWatchdog()` */
  constructor(
    private readonly child: ChildProcess,
    /** The helper's pid. */
    readonly pid: number,
  ) {
    this.exited =
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve({ code: child.exitCode, signal: child.signalCode })
        : new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    void this.exited.then((exit) => {
      this.exitInfo = exit;
    });
  }

  /** False once the helper has exited (after `close()`, or because someone killed it). */
  get alive(): boolean {
    return this.exitInfo === undefined && this.closing === undefined;
  }

  /** The groups currently watched. */
  get watched(): ReadonlySet<number> {
    return this.groups;
  }

  /** Ends `pgid` should this process die; a no-op once closed. */
  watch(pgid: number): void {
    if (this.closing !== undefined || this.exitInfo !== undefined) return;
    if (!isGroupId(pgid) || this.groups.has(pgid)) return;
    this.groups.add(pgid);
    this.send(`+${pgid}`);
  }

  /** Stops watching `pgid`: call it once the group has ended, before its id can be reused. */
  forget(pgid: number): void {
    if (!this.groups.delete(pgid)) return;
    this.send(`-${pgid}`);
  }

  /**
   * Shutdown that left server groups behind (a teardown overran its budget): the helper ends
   * every group still watched (SIGTERM, then SIGKILL), exactly as if this process had died, and
   * exits. Without groups left this is {@link Watchdog.close}. Idempotent.
   */
  abandon(): Promise<void> {
    if (this.groups.size === 0) return this.close();
    this.closing ??= (async () => {
      this.child.ref();
      // EOF without `close` is the helper's "the supervisor is gone".
      this.child.stdin?.end();
      await this.exited;
      this.groups.clear();
    })();
    return this.closing;
  }

  /** Normal shutdown: the helper exits without signalling anything. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.groups.clear();
    if (this.exitInfo !== undefined) return;
    // Until it is gone, this is work in progress: let it hold the loop.
    this.child.ref();
    this.child.stdin?.end('close\n');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), 2_000);
    });
    try {
      if ((await Promise.race([this.exited, late])) === 'late') {
        this.child.kill('SIGKILL');
        await this.exited;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private send(line: string): void {
    if (this.closing !== undefined || this.exitInfo !== undefined) return;
    // Into the kernel's pipe buffer at once: a line written just before a SIGKILL still arrives.
    this.child.stdin?.write(`${line}\n`);
  }
}

/**
 * Starts the helper process; resolves once it runs and listens (rejects after `readyTimeoutMs`).
 *
 * @example
 * ```ts
 * const watchdog = await startWatchdog();
 * const supervisor = createSupervisor(config, { watchdog });
 * // on shutdown, after the servers have stopped
 * await supervisor.stop();
 * await watchdog.close();
 * ```
 */
export function startWatchdog(options: WatchdogOptions = {}): Promise<Watchdog> {
  const graceMs = options.graceMs ?? 2_000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 5_000;
  // Not NODE_OPTIONS: a loader such as `--import tsx` is of no use to a plain .mjs and slows it.
  const { NODE_OPTIONS: _nodeOptions, ...env } = process.env;
  const child = spawn(process.execPath, [options.helperPath ?? HELPER, String(graceMs)], {
    stdio: ['pipe', 'pipe', 'ignore'],
    detached: true,
    env,
    cwd: '/',
    shell: false,
    windowsHide: true,
  });
  // EPIPE once the helper is gone: `alive` tells, writes become no-ops.
  child.stdin?.on('error', () => undefined);

  return new Promise<Watchdog>((resolve, reject) => {
    let output = '';
    const fail = (error: Error): void => {
      cleanup();
      child.kill('SIGKILL');
      child.stdin?.destroy();
      child.stdout?.destroy();
      reject(error);
    };
    const onData = (chunk: string): void => {
      output += chunk;
      if (!output.includes('ready\n')) return;
      const pid = child.pid;
      if (pid === undefined) return fail(new Error('watchdog helper has no pid'));
      cleanup();
      // It never writes again; nothing but the stdin pipe and the exit event are kept, unref'd.
      child.stdout?.destroy();
      (child.stdin as Socket | null)?.unref();
      child.unref();
      resolve(new Watchdog(child, pid));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(new Error(`watchdog helper exited before it was ready (code ${code}, signal ${signal})`));
    const onError = (error: Error): void => fail(error);
    const timer = setTimeout(() => fail(new Error(`watchdog helper not ready within ${readyTimeoutMs} ms`)), readyTimeoutMs);
    function cleanup(): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    }
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function isGroupId(pgid: number): boolean {
  // Never 0 or 1 (or negative): kill(0) signals our own group, kill(-1) every process we may signal.
  return Number.isSafeInteger(pgid) && pgid > 1;
}
