// The real `mcp-supervisor` command as a child process (through its package bin), for e2e tests.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitUntil } from './wait.js';

export { waitUntil };

const bin = fileURLToPath(new URL('../../bin/mcp-supervisor.mjs', import.meta.url));

/** Probe timings scaled down so a fault shows within a second on loopback. */
export const FAST_HEALTH = {
  connectTimeoutMs: 5_000,
  pingTimeoutMs: 1_000,
  healthyIntervalMs: 200,
  stableIntervalMs: 400,
  degradedIntervalMs: 150,
  degradedLatencyMs: 500,
  initialBackoffMs: 50,
  maxBackoffMs: 300,
};

export interface Cli {
  child: ChildProcessWithoutNullStreams;
  url: string;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Every CLI still running; `killAllClis()` ends them after a file's tests. */
const clis = new Set<ChildProcessWithoutNullStreams>();

/**
 * Any command as a child process whose output is gathered as it comes (`stdout()`, `stderr()`)
 * and whose exit is a promise; ended by `killAllClis()` too.
 */
export function spawnWatched(command: string, args: string[], env: Record<string, string> = {}): Omit<Cli, 'url'> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  clis.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      clis.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** The CLI through its package bin. */
export function spawnCli(args: string[], env: Record<string, string> = {}): Omit<Cli, 'url'> {
  return spawnWatched(process.execPath, [bin, ...args], env);
}

/** Starts the CLI and resolves once it printed where it listens. */
export async function startCli(args: string[], env: Record<string, string> = {}): Promise<Cli> {
  const cli = spawnCli(args, env);
  const url = await waitUntil(
    () => /listening on (http:\/\/\S+)/.exec(cli.stderr())?.[1],
    20_000,
    () => `CLI never said where it listens; stderr:\n${cli.stderr()}\nstdout:\n${cli.stdout()}`,
    cli.exited,
  );
  return { ...cli, url };
}

export function killAllClis(): void {
  for (const child of clis) child.kill('SIGKILL');
}
