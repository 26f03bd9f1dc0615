import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { isAlive } from '../support/processes.js';

const script = fileURLToPath(new URL('../fixtures/embed-and-exit.ts', import.meta.url));

describe('after dispose', () => {
  it('leaves no handle that keeps Node running, and no child process alive', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, fixtureServerPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'hung'>((resolve) => {
      // Generous: the script itself takes well under a second; only a leaked handle keeps it alive.
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('hung');
      }, 20_000);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
    expect(exit, `stderr: ${stderr}`).toEqual({ code: 0, signal: null });
    const report = JSON.parse(stdout.trim()) as { result: { content: unknown }; pid: number; state: string };
    expect(report.result.content).toEqual([{ type: 'text', text: 'embedded' }]);
    expect(report.state).toBe('stopped');
    expect(isAlive(report.pid)).toBe(false);
  });
});
