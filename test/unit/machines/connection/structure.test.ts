/**
 * The connection machine's structure: its states and transitions are a closed list, and every
 * transition is taken by some test of this folder. Those tests run in their own files (one concern
 * each), so the last check runs them once more in a child vitest that reports what they covered.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { connectionMachine } from '../../../../src/machines/connection.machine.js';
import { CONNECTION_STATES } from '../../../../src/core/states.js';
import { COVERAGE_OUT_ENV, describeTransition, shortId } from '../../../support/connection-harness.js';
import type { NodeLike } from '../../../support/connection-harness.js';

// ---------------------------------------------------------------------------------------------
// Structure: states and transitions are a closed, fully tested list
// ---------------------------------------------------------------------------------------------

function allNodes(node: NodeLike): NodeLike[] {
  return [node, ...Object.values(node.states).flatMap(allNodes)];
}

function allTransitions(): string[] {
  const root = connectionMachine.root as unknown as NodeLike;
  const descriptions: string[] = [];
  for (const node of allNodes(root)) {
    for (const transitions of node.transitions.values()) descriptions.push(...transitions.map(describeTransition));
    for (const transition of node.always ?? []) descriptions.push(describeTransition(transition));
  }
  return descriptions;
}

const EXPECTED_STATES = [
  '(root)',
  'connecting',
  'serving',
  'serving.healthy',
  'serving.healthy.idle',
  'serving.healthy.probing',
  'serving.degraded',
  'serving.degraded.idle',
  'serving.degraded.probing',
  'zombie',
  'reconnecting',
  'reconnecting.sessionCheck',
  'reconnecting.closing',
  'reconnecting.backoffCheck',
  'reconnecting.backoff',
  'reconnecting.awaitingSlot',
  'failed',
  'stopped',
];

const EXPECTED_TRANSITIONS = [
  'connecting · stop → stopped',
  'connecting · done(connect) → serving / storeSession',
  'connecting · error(connect) [isPermanentError] → failed / recordPermanentError',
  'connecting · error(connect) → reconnecting / recordFailure',
  'connecting · after(connectTimeout) → reconnecting / recordConnectTimeout',
  'serving · transport.closed [isPermanentError] → failed / recordPermanentError',
  'serving · transport.closed → reconnecting / recordFailure',
  'serving · session.expired → reconnecting / recordSessionExpired',
  'serving · call.failed [isClosedError] → reconnecting / recordCallFailed, recordFailure',
  'serving · call.failed [isSessionExpired] → reconnecting / recordCallFailed, recordSessionExpired',
  'serving · call.failed → (stay) / recordCallFailed',
  'serving · reconnect → reconnecting / skipBackoff',
  'serving · resource.exceeded → reconnecting / recordFailure',
  'serving · stop → stopped',
  'serving.healthy.idle · probe → serving.healthy.probing',
  'serving.healthy.idle · call.failed [callFailureNeedsProbe] → serving.healthy.probing / recordCallFailed',
  'serving.healthy.idle · call.succeeded [callWasFast] → serving.healthy.idle (reenter) / recordCallInPlaceOfProbe',
  'serving.healthy.idle · call.succeeded → (stay) / recordCallSucceeded',
  'serving.healthy.idle · after(probeDue) → serving.healthy.probing',
  'serving.healthy.probing · call.succeeded → (stay) / recordCallSucceeded',
  'serving.healthy.probing · done(probe) [probeWasSlow] → serving.degraded / recordSlowProbe',
  'serving.healthy.probing · done(probe) → serving.healthy.idle / recordGoodProbe',
  'serving.healthy.probing · error(probe) [isMethodNotFound] → serving.healthy.probing (reenter) / recordMethodNotFound, switchProbeToToolsList',
  'serving.healthy.probing · error(probe) [isClosedError] → reconnecting / recordLostProbe, recordFailure',
  'serving.healthy.probing · error(probe) [isSessionExpired] → reconnecting / recordLostProbe, recordSessionExpired',
  'serving.healthy.probing · error(probe) → serving.degraded / recordMissedProbe',
  'serving.healthy.probing · after(pingTimeout) → serving.degraded / recordMissedProbe',
  'serving.degraded · call.succeeded → (stay) / recordCallAnswered',
  'serving.degraded.idle · probe → serving.degraded.probing',
  'serving.degraded.idle · after(probeDue) → serving.degraded.probing',
  'serving.degraded.probing · done(probe) [probeWasSlow] → serving.degraded.idle / recordSlowProbe',
  'serving.degraded.probing · done(probe) [recoversWithThisProbe] → serving.healthy / recordGoodProbe',
  'serving.degraded.probing · done(probe) → serving.degraded.idle / recordGoodProbe',
  'serving.degraded.probing · error(probe) [isMethodNotFound] → serving.degraded.probing (reenter) / recordMethodNotFound, switchProbeToToolsList',
  'serving.degraded.probing · error(probe) [isClosedError] → reconnecting / recordLostProbe, recordFailure',
  'serving.degraded.probing · error(probe) [isSessionExpired] → reconnecting / recordLostProbe, recordSessionExpired',
  'serving.degraded.probing · error(probe) [zombieWithThisMiss] → zombie / recordMissedProbe',
  'serving.degraded.probing · error(probe) → serving.degraded.idle / recordMissedProbe',
  'serving.degraded.probing · after(pingTimeout) [zombieWithThisMiss] → zombie / recordMissedProbe',
  'serving.degraded.probing · after(pingTimeout) → serving.degraded.idle / recordMissedProbe',
  'zombie · stop → stopped',
  'zombie · done(closeSession) → reconnecting / forgetSession, recordFailure',
  'zombie · error(closeSession) → reconnecting / forgetSession, recordFailure',
  'reconnecting · stop → stopped',
  'reconnecting.sessionCheck · always [hasNoSession] → reconnecting.backoffCheck',
  'reconnecting.sessionCheck · always → reconnecting.closing',
  'reconnecting.closing · done(closeSession) → reconnecting.backoffCheck / forgetSession',
  'reconnecting.closing · error(closeSession) → reconnecting.backoffCheck / forgetSession',
  'reconnecting.backoffCheck · always [attemptsExhausted] → failed / recordExhausted',
  'reconnecting.backoffCheck · always [noBackoffDue] → reconnecting.awaitingSlot',
  'reconnecting.backoffCheck · always → reconnecting.backoff',
  'reconnecting.backoff · reconnect → reconnecting.awaitingSlot / skipBackoff',
  'reconnecting.backoff · after(backoff) → reconnecting.awaitingSlot',
  'reconnecting.awaitingSlot · slot.granted → connecting',
  'reconnecting.awaitingSlot · always [isUnsupervised] → connecting',
  'failed · reconnect → reconnecting / resetForManualStart',
  'failed · stop → stopped',
  'failed · done(closeSession) → (stay) / forgetSession',
  'failed · error(closeSession) → (stay) / forgetSession',
  'stopped · start → reconnecting / resetForManualStart',
  'stopped · stop [hasNoSession] → (stay) / reportClosed',
  'stopped · done(closeSession) → (stay) / forgetSession, reportClosed',
  'stopped · error(closeSession) → (stay) / forgetSession, reportClosed',
];

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const vitestCli = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

/**
 * Runs every other test file of this folder in a child vitest, each appending the transitions it
 * took to a file (see `useConnectionHarness`), and returns their union.
 */
async function coveredByThisFolder(): Promise<{ files: string[]; reports: string[][]; exit: number | null; output: string }> {
  const files = readdirSync(here)
    .filter((name) => name.endsWith('.test.ts') && name !== basename(fileURLToPath(import.meta.url)))
    .sort();
  const dir = await mkdtemp(join(tmpdir(), 'connection-coverage-'));
  try {
    const out = join(dir, 'covered.jsonl');
    // The child is a vitest run of its own, not a worker of this one.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
    const run = spawn(process.execPath, [vitestCli, 'run', '--reporter=dot', ...files.map((name) => join(here, name))], {
      cwd: root,
      env: { ...env, [COVERAGE_OUT_ENV]: out },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    run.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    run.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exit = await new Promise<number | null>((resolve, reject) => {
      run.once('error', reject);
      run.once('exit', (code) => resolve(code));
    });
    const text = await readFile(out, 'utf8').catch(() => '');
    const reports = text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as string[]);
    return { files, reports, exit, output };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('structure', () => {
  it('has exactly the expected states, and the documented top-level ones', () => {
    const root = connectionMachine.root as unknown as NodeLike;
    expect(allNodes(root).map((node) => shortId(node.id))).toEqual(EXPECTED_STATES);
    // The documented states, in order: the top-level ones, with `serving` standing for its children.
    const documented = Object.entries(root.states).flatMap(([key, node]) => (key === 'serving' ? Object.keys(node.states) : [key]));
    expect(documented).toEqual([...CONNECTION_STATES]);
  });

  it('has exactly the expected transitions (update this list, and add a test, when adding one)', () => {
    const actual = allTransitions();
    expect(new Set(actual).size).toBe(actual.length);
    expect([...actual].sort()).toEqual([...EXPECTED_TRANSITIONS].sort());
  });

  // Every transition of the machine was taken by at least one test in the other files of this folder.
  it('every transition was taken by some test of this folder', async () => {
    const { files, reports, exit, output } = await coveredByThisFolder();
    expect(exit, output).toBe(0);
    expect(files.length).toBeGreaterThan(1);
    expect(reports, 'one report per test file').toHaveLength(files.length);
    const covered = new Set(reports.flat());
    const missing = EXPECTED_TRANSITIONS.filter((transition) => !covered.has(transition));
    expect(missing).toEqual([]);
    const unknown = [...covered].filter((transition) => !EXPECTED_TRANSITIONS.includes(transition));
    expect(unknown).toEqual([]);
  }, 120_000);
});
