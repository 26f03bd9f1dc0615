// A real etcd (Debian's etcd-server) for the cluster tests: one member on loopback ports the OS
// handed out, a data directory of its own, reaped by stop(). `.ci/run` installs etcd-server when
// it is missing.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

const ETCD = '/usr/bin/etcd';

/** A running etcd member. */
export interface Etcd {
  /** Its client URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** The etcd process. */
  child: ChildProcess;
  /** SIGSTOP: etcd stops answering while its sockets stay open (the registry "blinks"). */
  pause(): void;
  /** SIGCONT after {@link Etcd.pause}. */
  resume(): void;
  /** Stops it (keeping its data) and starts it again on the same ports; resolves once healthy. */
  restart(): Promise<void>;
  /** Kills it and removes its data directory. */
  stop(): Promise<void>;
  /** What it wrote on stderr (the last few KiB), for failure messages. */
  log(): string;
}

/** Starts etcd on two free loopback ports and waits until `/health` says so (bounded). */
export async function startEtcd(): Promise<Etcd> {
  if (!existsSync(ETCD)) throw new Error(`the cluster tests need etcd at ${ETCD}: "apt-get install -y etcd-server" (.ci/run does this)`);
  const dir = await mkdtemp(join(tmpdir(), 'mcp-supervisor-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  let output = '';
  const launch = (): ChildProcess => {
    const child = spawn(
      ETCD,
      [
        '--name', 'test',
        '--data-dir', join(dir, 'data'),
        '--listen-client-urls', url,
        '--advertise-client-urls', url,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `test=${peer}`,
        '--logger', 'zap',
        '--log-level', 'warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8_000);
    });
    return child;
  };
  const exited = (child: ChildProcess): Promise<void> =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

  let child = launch();
  const healthy = async (): Promise<void> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}:\n${output}`);
      try {
        const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
        if (response.ok && ((await response.json()) as { health?: string }).health === 'true') return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`etcd did not become healthy within 20 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await healthy();

  const etcd: Etcd = {
    url,
    get child() {
      return child;
    },
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    async restart() {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await exited(child);
      child = launch();
      await healthy();
    },
    async stop() {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited(child);
      await rm(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
  return etcd;
}
