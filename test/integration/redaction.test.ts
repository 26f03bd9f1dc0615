// Secrets planted in a config (URL userinfo and query, env and header values, ${VAR} values in
// args, command and URL) never show in what the fleet reports: views, the /actors/:id detail,
// transition reasons and events, logs of the servers' output. Real servers, real failures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { parseConfig } from '../../src/config/load.js';
import { actorDetail } from '../../src/fleet/detail.js';
import type { ActorDetail } from '../../src/fleet/detail.js';
import type { ActorView } from '../../src/fleet/views.js';
import type { FleetEvent } from '../../src/fleet/events.js';
import { createSupervisor } from '../../src/fleet/supervisor.js';
import type { Supervisor } from '../../src/fleet/supervisor.js';
import { connectionStateOf } from '../../src/machines/connection.machine.js';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { freePort } from '../support/ports.js';
import { waitUntil } from '../support/wait.js';

const FAST = { connectTimeoutMs: 3_000, initialBackoffMs: 20, maxBackoffMs: 100, healthyIntervalMs: 100, stableIntervalMs: 200 };

/** Every planted secret, by where it was planted. */
const PLANTED = {
  argVar: 'planted-arg-var-1f3a',
  badArgVar: 'planted-bad-arg-9c2e',
  commandVar: '/nonexistent/planted-command-7b1d',
  envValue: 'planted-env-value-4e8f',
  passVar: 'planted-pass-var-2a6c',
  user: 'planted-user-5d0b',
  query: 'planted-query-8e3f',
  query2: 'planted-query-two-6a1c',
  headerVar: 'planted-header-var-3b9d',
  headerLiteral: 'planted-header-literal-0f7e',
};

let supervisor: Supervisor | undefined;
let fleet: Supervisor;
let closedPort: number;
const events: FleetEvent[] = [];
let reported: { views: ActorView[]; details: ActorDetail[]; logs: unknown[]; events: FleetEvent[] };
let text: string;

beforeAll(async () => {
  closedPort = await freePort();
  const env = {
    PLANTED_ARG: PLANTED.argVar,
    PLANTED_BAD_ARG: PLANTED.badArgVar,
    PLANTED_COMMAND: PLANTED.commandVar,
    PLANTED_PASS: PLANTED.passVar,
    PLANTED_HEADER: PLANTED.headerVar,
  };
  const config = parseConfig(
    {
      supervisor: { health: FAST },
      mcpServers: {
        // Healthy, with a ${VAR} in its args (node's harmless --title) and a secret env value.
        healthy: { command: process.execPath, args: ['--title=${PLANTED_ARG}', fixtureServerPath, 'stdio'], env: { FIXTURE_TOKEN: PLANTED.envValue } },
        // The fixture refuses the unknown argument, printing it on stderr, and exits: a crash loop.
        chatty: { command: process.execPath, args: [fixtureServerPath, 'stdio', '--token=${PLANTED_BAD_ARG}'] },
        // ENOENT names the command, which came from ${VAR}.
        missing: { command: '${PLANTED_COMMAND}', args: [] },
        // Credentials in the URL, one of them from ${VAR}: permanent, and the error quotes the URL.
        credentials: { type: 'streamable-http', url: `http://${PLANTED.user}:\${PLANTED_PASS}@127.0.0.1:${closedPort}/mcp?token=${PLANTED.query}` },
        // Unreachable, with a secret query value and header values (one from ${VAR}).
        unreachable: {
          type: 'streamable-http',
          url: `http://127.0.0.1:${closedPort}/mcp?key=${PLANTED.query2}`,
          headers: { Authorization: 'Bearer ${PLANTED_HEADER}', 'X-Api-Key': PLANTED.headerLiteral },
        },
      },
    },
    env,
  );
  supervisor = createSupervisor(config);
  fleet = supervisor;
  fleet.subscribe((event) => void events.push(event));
  const state = (id: string): string => connectionStateOf(fleet.connection(id).getSnapshot());

  await fleet.ready('healthy', 10_000);
  await waitFor(fleet.connection('missing'), (snapshot) => snapshot.matches('failed'), { timeout: 5_000 });
  await waitFor(fleet.connection('credentials'), (snapshot) => snapshot.matches('failed'), { timeout: 5_000 });
  await waitUntil(() => fleet.view('unreachable').lastError !== null, 5_000, () => `unreachable is ${state('unreachable')}`);
  await waitUntil(() => fleet.logs('chatty').some((line) => line.text.includes('unknown argument')), 5_000, () => JSON.stringify(fleet.logs('chatty')));
  await waitUntil(() => fleet.view('chatty').lastError !== null, 5_000, () => `chatty is ${state('chatty')}`);
  await fleet.callTool('healthy', 'echo', { message: 'hi' });

  reported = {
    views: fleet.views(),
    details: fleet.ids().map((id) => actorDetail(fleet, id)),
    logs: fleet.ids().map((id) => fleet.logs(id)),
    events,
  };
  text = JSON.stringify(reported);
});

afterAll(async () => {
  await supervisor?.stop();
});

describe('planted secrets never show in what the fleet reports', () => {
  it.each(Object.entries(PLANTED))('%s is nowhere', (_where, secret) => {
    expect(text).not.toContain(secret);
  });

  it('errors say what happened, with *** where the secrets were', () => {
    expect(fleet.view('missing').lastError?.message).toBe('cannot start "***": command not found (ENOENT)');
    expect(fleet.view('credentials').lastError).toMatchObject({
      kind: 'permanent',
      message: `the URL includes credentials (user:password@), which fetch refuses to send; put them in an "Authorization" header instead: http://***:***@127.0.0.1:${closedPort}/mcp?token=***`,
    });
    expect(events).toContainEqual(expect.objectContaining({ type: 'state.changed', id: 'credentials', to: 'failed', reason: fleet.view('credentials').lastError?.message }));
    expect(fleet.logs('chatty').map((line) => line.text).join('\n')).toContain('unknown argument: --token=***');
  });

  it('/actors/:id shows command, args and URL as written, env and header values by name only', () => {
    const target = (id: string): unknown => actorDetail(fleet, id).snapshot.context.target;
    expect(target('healthy')).toEqual({ type: 'stdio', command: process.execPath, args: ['--title=${PLANTED_ARG}', fixtureServerPath, 'stdio'], envKeys: ['FIXTURE_TOKEN'] });
    expect(target('missing')).toMatchObject({ command: '${PLANTED_COMMAND}' });
    expect(target('credentials')).toMatchObject({ url: `http://***:***@127.0.0.1:${closedPort}/mcp?token=***` });
    expect(target('unreachable')).toEqual({ type: 'streamable-http', url: `http://127.0.0.1:${closedPort}/mcp?key=***`, headerNames: ['Authorization', 'X-Api-Key'] });
  });

  it('latencies in views, details and events are rounded to the microsecond', () => {
    const decimals = (value: number): number => (String(value).split('.')[1] ?? '').length;
    const latencies = [
      ...reported.views.flatMap((view) => [view.quality.latencyMs.p50, view.quality.latencyMs.p95]),
      ...reported.details.flatMap((detail) => (detail.snapshot.context.recentSamples as Array<{ latencyMs: number }>).map((sample) => sample.latencyMs)),
      ...events.flatMap((event) => ('latencyMs' in event ? [event.latencyMs] : 'waitedMs' in event ? [event.waitedMs] : [])),
    ].filter((value): value is number => typeof value === 'number');
    expect(latencies.length).toBeGreaterThan(2);
    for (const latency of latencies) expect(decimals(latency), String(latency)).toBeLessThanOrEqual(3);
  });
});
