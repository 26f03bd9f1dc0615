import { connect } from 'node:net';
import { ConnectionError, errorMessageOf } from '../../core/errors.js';
import { DEFAULT_MIN_UPTIME_MS } from '../../core/target.js';
import type { ProcessPolicy } from '../../core/target.js';
import type { ProcessGroup } from './process-group.js';

const POLL_MS = 100;

/**
 * Resolves once something accepts TCP connections at the URL's host and port: a launched HTTP
 * server is ready to be connected to. Rejects if the process exits first, or on `signal`.
 */
export async function waitForListening(url: URL, group: ProcessGroup, signal: AbortSignal): Promise<void> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  while (!signal.aborted) {
    if (group.exit) throw new ConnectionError('closed', `the server process exited before listening on ${url.host}`);
    if (await accepts(host, port)) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, POLL_MS);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
  signal.throwIfAborted();
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * What a process's end means for the connection: with `restart: never` it is final (`failed`,
 * with the exit status); otherwise the connection reconnects, and an exit sooner than
 * `minUptimeMs` after the start is flagged so the supervisor counts it toward flap quarantine.
 */
export function processEnded(group: ProcessGroup, policy: ProcessPolicy, cause?: unknown): ConnectionError | undefined {
  const exit = group.exit;
  if (!exit) return undefined;
  const uptimeMs = (group.exitedAt ?? Date.now()) - group.startedAt;
  const status = `exit code ${exit.code ?? 'none'}, signal ${exit.signal ?? 'none'}`;
  const earlyExit = uptimeMs < (policy.minUptimeMs ?? DEFAULT_MIN_UPTIME_MS);
  if (policy.restart === 'never') {
    return new ConnectionError('permanent', `the server process exited (${status}) and restart is "never"`, { cause, earlyExit });
  }
  const detail = cause === undefined ? '' : `: ${errorMessageOf(cause)}`;
  return new ConnectionError('closed', `the server process exited after ${uptimeMs} ms (${status})${detail}`, { cause, earlyExit });
}
