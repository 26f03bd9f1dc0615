// Child processes for the packaging test: every command runs in its own process group with a
// deadline, so a hung npm, tsc or app is killed together with whatever it started.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export interface RunResult {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the deadline passed and the process group was killed. */
  timedOut: boolean;
  ms: number;
}

export interface RunOptions {
  cwd: string;
  timeoutMs: number;
  env?: Record<string, string | undefined>;
}

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}

/**
 * npm sets these for the scripts it runs (`npm test`); a nested npm must not take the outer
 * package's lifecycle or prefix for its own.
 */
function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package_|lifecycle_|config_(local_prefix|prefix|global)$)/i.test(key) || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  Object.assign(env, { npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' }, extra);
  return env;
}

/** Runs `command args` in `cwd`; resolves when it exited and its output closed, or at the deadline. */
export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => {
    let timedOut = false;
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      running.delete(child);
      resolve({ command: [command, ...args].join(' '), code, signal, stdout, stderr, timedOut, ms: Date.now() - started });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
      // Output pipes held open by an escaped grandchild must not hold the test past its deadline.
      setTimeout(() => finish(child.exitCode, child.signalCode), 2_000).unref();
    }, options.timeoutMs);
    child.once('error', (error) => {
      stderr += `\nspawn failed: ${error.message}`;
      finish(null, null);
    });
    child.once('close', (code, signal) => finish(code, signal));
  });
}

/** Kills every command still running (afterAll, and after a failed test). */
export function killAll(): void {
  for (const child of running) killGroup(child);
  running.clear();
}

/** The result as a failure message: the command, how it ended, and the tail of its output. */
export function describeRun(result: RunResult, tail = 4_000): string {
  const ended = result.timedOut ? `timed out after ${result.ms} ms` : `exit ${result.code ?? result.signal} after ${result.ms} ms`;
  return `${result.command}: ${ended}\n--- stdout ---\n${result.stdout.slice(-tail)}\n--- stderr ---\n${result.stderr.slice(-tail)}`;
}
