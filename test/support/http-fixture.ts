// Starts/stops the fixture MCP server (test/fixtures/fixture-server.mjs) in http mode as a
// real child process listening on 127.0.0.1.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Absolute path of the fixture server script (for stdio tests: `node <path> stdio`). */
export const fixtureServerPath: string = fileURLToPath(new URL('../fixtures/fixture-server.mjs', import.meta.url));

export interface HttpFixture {
  /** The port; stays the same across restart(). */
  port: number;
  /** Pid of the current fixture process (updated by restart()). */
  pid: number;
  /** Streamable HTTP endpoint, http://127.0.0.1:<port>/mcp */
  mcpUrl: string;
  /** Legacy SSE endpoint, http://127.0.0.1:<port>/sse */
  sseUrl: string;
  /**
   * Calls a control endpoint: `control('state')` is GET /control/state, anything else
   * (`'latency'`, `'freeze'`, `'thaw'`, `'drop-sessions'`, or with a `/control/` prefix) is a POST
   * with `body` as JSON. Resolves to the parsed JSON reply; rejects on non-2xx or after 5 s.
   */
  control(path: string, body?: unknown): Promise<unknown>;
  /** SIGTERM (plus SIGCONT, in case it is stopped), SIGKILL after 2 s; resolves once exited. */
  stop(): Promise<void>;
  /** stop(), then start again on the same port (so every old session is gone); updates pid. */
  restart(): Promise<void>;
  sigstop(): void;
  sigcont(): void;
}

const START_TIMEOUT_MS = 10_000;
const KILL_AFTER_MS = 2_000;
const CONTROL_TIMEOUT_MS = 5_000;
const STDERR_LIMIT = 64 * 1024;
/** Exit code the fixture uses when its port is taken. */
const EXIT_ADDR_IN_USE = 98;

interface Running {
  child: ChildProcess;
  port: number;
  exited: Promise<void>;
  stderr: () => string;
}

class StartError extends Error {
  constructor(
    message: string,
    readonly addrInUse: boolean,
  ) {
    super(message);
  }
}

function spawnFixture(port: number): Promise<Running> {
  // stdin is a pipe we never write: the fixture exits when it closes (--exit-with-stdin),
  // so even a crashed test worker leaks no fixture.
  const child = spawn(process.execPath, [fixtureServerPath, 'http', '--port', String(port), '--exit-with-stdin'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_LIMIT);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  // Don't let an EPIPE on the stdin pipe (fixture gone) become an uncaught error.
  child.stdin?.on('error', () => {});

  return new Promise<Running>((resolve, reject) => {
    let stdout = '';
    let settled = false;
    const settle = (error: Error | undefined, running?: Running) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error) reject(error);
      else if (running) resolve(running);
    };
    const onData = (chunk: string) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      const line = stdout.slice(0, newline);
      let listening: unknown;
      try {
        listening = (JSON.parse(line) as { listening?: unknown }).listening;
      } catch {
        listening = undefined;
      }
      if (typeof listening !== 'number') {
        child.kill('SIGKILL');
        settle(new StartError(`fixture printed unexpected first line ${JSON.stringify(line)}; stderr:\n${stderr}`, false));
        return;
      }
      settle(undefined, { child, port: listening, exited, stderr: () => stderr });
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      settle(
        new StartError(
          `fixture exited before listening (code ${code}, signal ${signal}); stderr:\n${stderr}`,
          code === EXIT_ADDR_IN_USE,
        ),
      );
    };
    const onError = (error: Error) => settle(new StartError(`failed to spawn fixture: ${error.message}`, false));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(new StartError(`fixture did not listen within ${START_TIMEOUT_MS} ms; stderr:\n${stderr}`, false));
    }, START_TIMEOUT_MS);

    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', onData);
    // Keep draining stdout after the listening line so the pipe never fills up.
    child.stdout?.resume();
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

async function stopRunning(running: Running): Promise<void> {
  const { child } = running;
  if (child.exitCode !== null || child.signalCode !== null) {
    child.stdin?.destroy();
    return;
  }
  const killer = setTimeout(() => {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }, KILL_AFTER_MS);
  try {
    child.kill('SIGTERM');
    child.kill('SIGCONT'); // a SIGSTOPped process would otherwise sit on the SIGTERM
    await running.exited;
  } finally {
    clearTimeout(killer);
    child.stdin?.destroy();
  }
}

/** Starts the fixture in http mode; port 0 (default) lets the OS pick. */
export async function startHttpFixture(opts: { port?: number } = {}): Promise<HttpFixture> {
  let running = await spawnFixture(opts.port ?? 0);
  const port = running.port;
  const base = `http://127.0.0.1:${port}`;

  const fixture: HttpFixture = {
    port,
    pid: running.child.pid ?? -1,
    mcpUrl: `${base}/mcp`,
    sseUrl: `${base}/sse`,

    async control(path: string, body?: unknown): Promise<unknown> {
      const name = path.replace(/^\/+/, '').replace(/^control\//, '');
      const method = name === 'state' ? 'GET' : 'POST';
      const response = await fetch(`${base}/control/${name}`, {
        method,
        headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
        body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
        signal: AbortSignal.timeout(CONTROL_TIMEOUT_MS),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`control ${method} /control/${name} failed: HTTP ${response.status} ${text}`);
      return text === '' ? undefined : (JSON.parse(text) as unknown);
    },

    async stop(): Promise<void> {
      await stopRunning(running);
    },

    async restart(): Promise<void> {
      await stopRunning(running);
      // The port was ours a moment ago; retry briefly in case it is not free yet.
      const attempts = 6;
      for (let attempt = 1; ; attempt++) {
        try {
          running = await spawnFixture(port);
          break;
        } catch (error) {
          if (!(error instanceof StartError) || !error.addrInUse || attempt >= attempts) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        }
      }
      fixture.pid = running.child.pid ?? -1;
    },

    sigstop(): void {
      process.kill(fixture.pid, 'SIGSTOP');
    },

    sigcont(): void {
      process.kill(fixture.pid, 'SIGCONT');
    },
  };
  return fixture;
}
