// examples/embed.mjs is documentation that must keep working: run it as a user would (from
// another directory, so its own paths must not depend on the cwd) and check it does what it says,
// exits by itself with 0, and leaves no server process behind.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { descendantPids, describePids, isAlive, waitForNoDescendants } from '../support/processes.js';

const example = fileURLToPath(new URL('../../examples/embed.mjs', import.meta.url));
// `--import tsx` would resolve tsx from the cwd; from elsewhere it has to be named by path.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

afterAll(async () => {
  const leftovers = await waitForNoDescendants(5_000);
  expect(leftovers, describePids(leftovers)).toEqual([]);
});

describe('examples/embed.mjs', () => {
  it('supervises two servers, echoes on both, stops and exits 0 leaving no process behind', { timeout: 70_000 }, async () => {
    const child = spawn(process.execPath, ['--import', tsxLoader, example], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

    // The servers it starts are its children (each leading its own process group): note them while it runs.
    const servers = new Set<number>();
    const watcher = setInterval(() => {
      if (child.pid !== undefined) for (const pid of descendantPids(child.pid)) servers.add(pid);
    }, 20);

    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'hung'>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('hung');
      }, 60_000);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
    clearInterval(watcher);

    expect(exit, `stdout:\n${stdout}\nstderr:\n${stderr}`).toEqual({ code: 0, signal: null });
    expect(stdout).toContain('result everything: Echo: hello everything');
    expect(stdout).toContain('result flaky: hello flaky');
    expect(stdout).toMatch(/^view everything: healthy/m);
    expect(stdout).toMatch(/^view flaky: healthy/m);
    // Every event is one line, from the first admission to the last stop.
    expect(stdout).toMatch(/^event slot\.granted everything /m);
    expect(stdout).toMatch(/^event state\.changed flaky .*"to":"stopped"/m);

    expect(servers.size, 'no server process was seen while the example ran').toBeGreaterThanOrEqual(2);
    const alive = [...servers].filter(isAlive);
    expect(alive, describePids(alive)).toEqual([]);
  });
});
