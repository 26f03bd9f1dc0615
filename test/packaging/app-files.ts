// The files of the throwaway consumer app the packaging test installs the tarball into. They are
// strings, not files under test/, so the repository's own tsc and linters never see imports of
// 'mcp-supervisor' that only resolve inside that app.

/** Supervises server-everything (argv[2]) through the root entry, calls `echo`, stops, and exits by itself. */
export const APP_MJS = `
import { createSupervisor } from 'mcp-supervisor';

const [serverEntry, message] = process.argv.slice(2);
const supervisor = createSupervisor({
  mcpServers: {
    everything: { command: process.execPath, args: [serverEntry, 'stdio'], health: { connectTimeoutMs: 20000 } },
  },
});
const states = [];
supervisor.subscribe((event) => {
  if (event.type === 'state.changed') states.push(event.to);
});
await supervisor.ready('everything', 30000);
const pid = supervisor.connection('everything').getSnapshot().context.session?.pid ?? null;
const result = await supervisor.callTool('everything', 'echo', { message });
const text = result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
await supervisor.stop();
// No process.exit: the test requires that nothing (timers, sockets, children) keeps node alive.
console.log(JSON.stringify({ text, pid, states, final: supervisor.snapshot.status }));
`;

/**
 * The connection machine under XState with scripted actors until it is healthy; shared by the
 * plain run (real package imports) and the run of the browser bundle.
 */
export const SCENARIO_MJS = `
export async function runScenario({ createActor, fromPromise, waitFor }, machines) {
  const { connectionMachine, connectionStateOf, resolveSettings, CONNECTION_STATES } = machines;
  const calls = { connect: 0, probe: 0, close: 0 };
  const session = {
    transport: 'memory',
    pid: undefined,
    era: 'modern',
    serverInfo: { name: 'scripted', version: '1.0.0' },
    probe: async () => undefined,
    listTools: async () => [],
    callTool: async () => ({ content: [] }),
    onEvent: () => () => undefined,
    close: async () => {
      calls.close += 1;
    },
    toJSON: () => ({ scripted: true }),
  };
  const machine = connectionMachine.provide({
    actors: {
      connect: fromPromise(async ({ input }) => {
        calls.connect += 1;
        session.onEvent((event) => input.connection.send(event));
        return session;
      }),
      probe: fromPromise(async () => {
        calls.probe += 1;
        return { latencyMs: 1 };
      }),
      closeSession: fromPromise(async ({ input }) => {
        await input.session?.close();
      }),
    },
  });
  const actor = createActor(machine, {
    input: { id: 'scripted', transport: 'memory', settings: resolveSettings({ healthyIntervalMs: 20, stableIntervalMs: 20 }) },
  });
  const seen = [];
  actor.subscribe((snapshot) => {
    const state = connectionStateOf(snapshot);
    if (seen[seen.length - 1] !== state) seen.push(state);
  });
  actor.start();
  await waitFor(actor, (snapshot) => connectionStateOf(snapshot) === 'healthy', { timeout: 10000 });
  // At least one probe answered while healthy.
  await waitFor(actor, (snapshot) => snapshot.context.quality.successRate !== null, { timeout: 10000 });
  actor.stop();
  return { seen, calls, status: actor.getSnapshot().status, known: CONNECTION_STATES.includes('healthy') };
}
`;

/** (b): the published machines entry with xstate as the app resolves it. */
export const MACHINES_MJS = `
import * as xstate from 'xstate';
import * as machines from 'mcp-supervisor/machines';
import { runScenario } from './scenario.mjs';

console.log(JSON.stringify(await runScenario(xstate, machines)));
`;

/** (c): everything the machines entry exports, plus the XState a browser app would bundle with it. */
export const BUNDLE_ENTRY_MJS = `
export * from 'mcp-supervisor/machines';
export { createActor, fromCallback, fromPromise, waitFor } from 'xstate';
`;

/** Runs the same scenario from the browser bundle, to show the bundle is not only built but works. */
export const BUNDLE_CHECK_MJS = `
import * as bundle from './out.js';
import { runScenario } from './scenario.mjs';

console.log(JSON.stringify(await runScenario(bundle, bundle)));
`;

/** (e): run after the HTTP stack, the inspector, pino and prom-client were renamed away. */
export const NO_HTTP_MJS = `
const root = await import('mcp-supervisor');
const machines = await import('mcp-supervisor/machines');
let service = 'loaded';
try {
  await import('mcp-supervisor/service');
} catch (error) {
  service = error.code ?? error.message;
}
console.log(JSON.stringify({
  root: typeof root.createSupervisor === 'function' && typeof root.createConnection === 'function',
  machines: typeof machines.connectionMachine.provide === 'function',
  service,
}));
`;

/** (d): strict settings a careful consumer would use; `typeRoots` is ours, so no extra download. */
export function consumerTsconfig(typeRoot: string): string {
  return JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2022'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: true,
        noEmit: true,
        types: ['node'],
        typeRoots: [typeRoot],
      },
      files: ['consumer.ts', 'bad-option.ts'],
    },
    null,
    2,
  );
}

/** Uses every entry point's main functions with explicit types; must compile with no error. */
export const CONSUMER_TS = `
import {
  CONNECTION_STATES,
  ConfigError,
  ConnectionError,
  ConnectionLostError,
  DEFAULT_SETTINGS,
  DuplicateServerError,
  NotConnectedError,
  UnknownServerError,
  createConnection,
  createSupervisor,
  loadConfigFile,
  parseConfig,
} from 'mcp-supervisor';
import type {
  ActorView,
  CallToolOptions,
  ConnectionState,
  CreateSupervisorOptions,
  FleetEvent,
  InProcessServer,
  ManagedConnection,
  RawConfig,
  ServerStats,
  StateChanged,
  Supervisor,
  SupervisorConfig,
} from 'mcp-supervisor';
import {
  admit,
  computeQuality,
  connectionMachine,
  connectionStateOf,
  errorKindOf,
  fullJitterDelay,
  resolveSettings,
  supervisorMachine,
} from 'mcp-supervisor/machines';
import type {
  ConnectInput,
  ConnectionEvent,
  ConnectionInput,
  ConnectionSettings,
  ConnectionSnapshot,
  ErrorKind,
  McpSession,
  ProbeInput,
  ProbeResult,
  SessionInput,
} from 'mcp-supervisor/machines';
import { DEFAULT_PORT, createApp, createLogger, createMetrics, startService, startWatchdog } from 'mcp-supervisor/service';
import type { Metrics, RunningService, StartServiceOptions } from 'mcp-supervisor/service';
import { startFaultProxy } from 'mcp-supervisor/testing';
import type { FaultProxy, Toxic } from 'mcp-supervisor/testing';
import { startInspector } from 'mcp-supervisor/inspector';
import type { InspectorBridge } from 'mcp-supervisor/inspector';
import { createActor, fromPromise } from 'xstate';

// With skipLibCheck, a declaration whose import does not resolve silently becomes \`any\`: these
// fail to compile if a type the package exposes (or takes from a dependency) is \`any\`.
type IsAny<T> = 0 extends 1 & T ? true : false;
type NotAny<T extends false> = T;
export type Resolved = [
  NotAny<IsAny<Supervisor>>,
  NotAny<IsAny<Awaited<ReturnType<Supervisor['callTool']>>['content']>>,
  NotAny<IsAny<ReturnType<Supervisor['subscribe']>>>,
  NotAny<IsAny<FleetEvent>>,
  NotAny<IsAny<ConnectionSnapshot['context']>>,
  NotAny<IsAny<Supervisor['actor']>>,
  NotAny<IsAny<RunningService['app']>>,
  NotAny<IsAny<Metrics['registry']>>,
  NotAny<IsAny<ReturnType<typeof createLogger>>>,
  NotAny<IsAny<Awaited<ReturnType<typeof startWatchdog>>>>,
  NotAny<IsAny<InspectorBridge['inspect']>>,
  NotAny<IsAny<FaultProxy>>,
  NotAny<IsAny<RawConfig>>,
  NotAny<IsAny<InProcessServer['connect']>>,
];

const raw: RawConfig = {
  mcpServers: {
    files: { command: 'node', args: ['server.mjs'], priority: 10, health: { pingTimeoutMs: 2_000 } },
    remote: { url: 'https://example.com/mcp', headers: { authorization: 'Bearer x' }, dependsOn: ['files'] },
  },
};

export async function fleet(): Promise<string> {
  const options: CreateSupervisorOptions = { processSampleIntervalMs: 0, reservedForTop: 1, flap: { flapLimit: 3 } };
  const supervisor: Supervisor = createSupervisor(raw, options);
  const parsed: SupervisorConfig = parseConfig(raw);
  const fromFile: SupervisorConfig = await loadConfigFile('mcp.json');
  const again: Supervisor = createSupervisor(parsed);
  const unsubscribe = supervisor.subscribe(
    (event: FleetEvent) => {
      if (event.type === 'state.changed') {
        const to: ConnectionState = event.to;
        void to;
      }
    },
    { bufferSize: 100 },
  );
  await supervisor.ready('files', 10_000);
  const callOptions: CallToolOptions = { timeoutMs: 5_000, signal: AbortSignal.timeout(6_000) };
  const result = await supervisor.callTool('files', 'echo', { message: 'hi' }, callOptions);
  const first = result.content[0];
  const text: string = first?.type === 'text' ? first.text : '';
  const views: ActorView[] = supervisor.views();
  const state: ConnectionState | undefined = views[0]?.state;
  const pid: number | null | undefined = supervisor.view('files').process?.pid;
  const stats: ServerStats = supervisor.statsOf('files');
  const tools = await supervisor.listTools('files');
  const toolName: string | undefined = tools[0]?.name;
  unsubscribe();
  await Promise.all([supervisor.stop(), again.stop(5_000)]);
  try {
    await supervisor.callTool('files', 'echo');
  } catch (error) {
    if (error instanceof ConnectionLostError || error instanceof NotConnectedError) return error.serverId;
    if (error instanceof UnknownServerError || error instanceof DuplicateServerError) return error.message;
    if (error instanceof ConnectionError) {
      const kind: ErrorKind = error.kind;
      return kind;
    }
    if (error instanceof ConfigError) return error.message;
  }
  return [text, state, pid, stats, toolName, fromFile.servers.length, CONNECTION_STATES.length, DEFAULT_SETTINGS.pingTimeoutMs].join();
}

export async function single(): Promise<void> {
  const memory: InProcessServer = { connect: async () => undefined, close: async () => undefined };
  const connection: ManagedConnection = createConnection({
    id: 'files',
    target: { type: 'stdio', command: 'node', args: ['server.mjs'], restart: 'on-failure' },
    settings: { pingTimeoutMs: 1_000 },
    onTransition: (change: StateChanged) => {
      const reason: string | undefined = change.reason;
      void reason;
    },
  });
  const inMemory = createConnection({ id: 'mem', target: { type: 'memory', createServer: () => memory } });
  await connection.ready(5_000);
  const result = await connection.callTool('echo', { message: 'hi' });
  const isError: boolean | undefined = result.isError;
  const state: ConnectionState = connection.state;
  void [isError, state];
  await Promise.all([connection.dispose(), inMemory.dispose()]);
}

export function machines(): ConnectionState {
  const session: McpSession = {
    transport: 'memory',
    pid: undefined,
    era: 'legacy',
    serverInfo: undefined,
    probe: async () => undefined,
    listTools: async () => [],
    callTool: async () => ({ content: [] }),
    onEvent: () => () => undefined,
    close: async () => undefined,
    toJSON: () => ({}),
  };
  const machine = connectionMachine.provide({
    actors: {
      connect: fromPromise<McpSession, ConnectInput>(async ({ input }) => {
        const relay = (event: ConnectionEvent): void => input.connection.send(event);
        session.onEvent(relay);
        return session;
      }),
      probe: fromPromise<ProbeResult, ProbeInput>(async () => ({ latencyMs: 1 })),
      closeSession: fromPromise<void, SessionInput>(async ({ input }) => {
        await input.session?.close();
      }),
    },
  });
  const settings: ConnectionSettings = resolveSettings({ pingTimeoutMs: 500 }, undefined);
  const input: ConnectionInput = { id: 'a', transport: 'memory', settings, seed: 1 };
  const actor = createActor(machine, { input }).start();
  const snapshot: ConnectionSnapshot = actor.getSnapshot();
  const kind: ErrorKind = errorKindOf(new Error('boom'));
  const delay: number = fullJitterDelay(2, settings, 0.5);
  const supervisor = createActor(supervisorMachine, { input: { servers: [], maxConcurrentReconnects: 2 } });
  void [kind, delay, supervisor, admit, computeQuality];
  actor.stop();
  return connectionStateOf(snapshot);
}

export async function service(): Promise<void> {
  const startOptions: StartServiceOptions = { configPath: 'mcp.json', port: 0, supervisor: { processSampleIntervalMs: 0 } };
  const running: RunningService = await startService(startOptions);
  const url: string = running.url;
  const response: Response = await running.app.request('/health');
  const metrics: Metrics = createMetrics(running.supervisor, { defaultMetrics: false });
  const body: string = await metrics.render();
  metrics.close();
  const logger = createLogger('warn');
  logger.info({ url, status: response.status, bytes: body.length }, 'started');
  const app = createApp({ supervisor: running.supervisor, metrics, token: 'secret' });
  void [app, DEFAULT_PORT];
  const watchdog = await startWatchdog({ graceMs: 1_000 });
  await watchdog.close();
  await running.close();
}

export async function testing(): Promise<string> {
  const proxy: FaultProxy = await startFaultProxy({ upstream: { port: 8080 } });
  const toxics: Toxic[] = [{ type: 'latency', latencyMs: 100, direction: 'downstream' }, { type: 'reset' }];
  proxy.setToxics(toxics);
  const url: string = proxy.url('/mcp');
  await proxy.close();
  return url;
}

export async function inspector(): Promise<void> {
  const bridge: InspectorBridge = await startInspector({ port: 0 });
  const supervisor = createSupervisor(raw, { inspect: bridge.inspect });
  await supervisor.stop();
  await bridge.close();
}
`;

/** Must fail to compile with exactly one error: the unknown option. */
export const BAD_OPTION_TS = `
import { createSupervisor } from 'mcp-supervisor';

createSupervisor({ mcpServers: {} }, { notAnOption: true });
`;
