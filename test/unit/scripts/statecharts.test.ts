/**
 * The statechart docs are generated from the machines (`npm run statecharts`): the committed
 * files must match what the machines generate now, and the Mermaid text must say what the
 * machines do.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { fromPromise, setup } from 'xstate';
import type { AnyStateNode } from 'xstate';
import { connectionMachine } from '../../../src/machines/connection.machine.js';
import { CONNECTION_STATES } from '../../../src/core/states.js';
import type { ConnectionEvent } from '../../../src/machines/connection.machine.js';
import { chartStates, renderStatechartFiles, STATECHARTS, toChart, toMermaid, toSvg } from '../../../scripts/statecharts/index.js';

const root = new URL('../../..', import.meta.url);

async function committed(path: string): Promise<string | undefined> {
  try {
    return await readFile(new URL(path, root), 'utf8');
  } catch {
    return undefined;
  }
}

describe('generated statechart docs', () => {
  it('match what the machines generate now', async () => {
    const files = await renderStatechartFiles();
    expect(files.map((file) => file.path)).toEqual(
      STATECHARTS.flatMap(({ name }) => [`docs/statecharts/${name}.md`, `docs/statecharts/${name}.svg`]),
    );
    const stale: string[] = [];
    for (const file of files) if ((await committed(file.path)) !== file.content) stale.push(file.path);
    expect(stale, `stale statechart docs: run \`npm run statecharts\` and commit ${stale.join(', ')}`).toEqual([]);
  });

  it('are byte-identical from one generation to the next', async () => {
    const [first, second] = await Promise.all([renderStatechartFiles(), renderStatechartFiles()]);
    expect(second).toEqual(first);
  });
});

const tiny = setup({
  actors: { connect: fromPromise(async () => 'session') },
  guards: { isReady: () => true, isFatal: () => false },
  delays: { pingTimeout: 100 },
  actions: { log: () => {} },
}).createMachine({
  id: 'tiny',
  initial: 'idle',
  states: {
    idle: {
      on: {
        go: { guard: 'isReady', target: 'busy' },
        poke: { actions: 'log' },
      },
    },
    busy: {
      initial: 'connecting',
      on: { cancel: 'idle' },
      onDone: 'idle',
      states: {
        connecting: {
          invoke: {
            src: 'connect',
            onDone: 'ready',
            onError: [{ guard: 'isFatal', target: '#tiny.failed' }, { target: 'retry' }],
          },
          after: { pingTimeout: 'retry' },
        },
        retry: { always: 'connecting' },
        ready: { type: 'final' },
      },
    },
    failed: {
      after: { 1000: 'idle' },
    },
  },
});

describe('toMermaid', () => {
  it('draws nested states, guards, delays, invoked actors and eventless transitions', () => {
    expect(toMermaid(tiny).split('\n')).toEqual([
      'stateDiagram-v2',
      '  [*] --> idle',
      '  state "idle" as idle',
      '  idle : poke / log',
      '  state busy {',
      '    [*] --> busy_connecting',
      '    state "connecting" as busy_connecting',
      '    busy_connecting : invoke connect',
      '    state "retry" as busy_retry',
      '    state "ready" as busy_ready',
      '    busy_connecting --> busy_ready: done(connect)',
      '    busy_connecting --> busy_retry: error(connect) [else]',
      '    busy_connecting --> busy_retry: after pingTimeout',
      '    busy_retry --> busy_connecting: always',
      '    busy_ready --> [*]',
      '  }',
      '  failed',
      '  idle --> busy: go [isReady]',
      '  busy --> idle: cancel',
      '  busy --> idle: done',
      '  busy_connecting --> failed: error(connect) [isFatal]',
      '  failed --> idle: after 1000ms',
      '',
    ]);
  });

  it('draws the root as a composite with a note when it handles events itself', () => {
    const machine = setup({ actions: { count: () => {} } }).createMachine({
      id: 'counter',
      on: { tick: { actions: 'count' } },
      initial: 'on',
      states: { on: { on: { toggle: 'off' } }, off: { on: { toggle: 'on' } } },
    });
    expect(toMermaid(machine)).toBe(
      [
        'stateDiagram-v2',
        '  [*] --> counter',
        '  state counter {',
        '    [*] --> on',
        '    on',
        '    off',
        '    on --> off: toggle',
        '    off --> on: toggle',
        '  }',
        '  note right of counter',
        'tick / count',
        '  end note',
        '',
      ].join('\n'),
    );
  });

  it('names every state of the connection machine and every event it handles', () => {
    const text = toMermaid(connectionMachine);
    const chart = toChart(connectionMachine);
    // `healthy` and `degraded` are children of `serving`, so their path-based names start with it.
    for (const state of CONNECTION_STATES) {
      const name = state === 'healthy' || state === 'degraded' ? `serving_${state}` : state;
      expect(text).toMatch(new RegExp(`^\\s*(state "${state}" as |state )?${name}( \\{)?$`, 'm'));
    }
    // Nested states by path-based name and by label.
    for (const state of chartStates(chart).slice(1)) {
      expect(text).toContain(state.name);
      expect(text).toContain(state.label);
    }
    expect(text).toContain('state "probing" as serving_healthy_probing');

    // Every event type the machine declares, checked by the compiler against ConnectionEvent.
    const declared: Record<ConnectionEvent['type'], true> = {
      start: true,
      stop: true,
      reconnect: true,
      probe: true,
      'slot.granted': true,
      'transport.closed': true,
      'session.expired': true,
      'call.succeeded': true,
      'call.failed': true,
      'resource.exceeded': true,
    };
    // …and every event any state node handles, read from the machine itself.
    const handled = new Set<string>();
    const visit = (node: AnyStateNode): void => {
      for (const event of node.transitions.keys()) if (!event.startsWith('xstate.')) handled.add(event);
      for (const child of Object.values(node.states) as AnyStateNode[]) visit(child);
    };
    visit(connectionMachine.root);
    for (const event of new Set([...Object.keys(declared), ...handled])) {
      expect(text, event).toMatch(new RegExp(`(: |^)${event.replace(/\./g, '\\.')}( \\[| /|$)`, 'm'));
    }
    // Absolute targets are mapped to state names, never written as ids.
    expect(text).not.toContain('#');
    expect(text).toContain('serving_healthy_probing --> serving_degraded: after pingTimeout');
    expect(text).toContain('serving_degraded_probing --> zombie: after pingTimeout [zombieWithThisMiss]');
    expect(text).toContain('reconnecting_awaitingSlot --> connecting: slot.granted');
  });
});

describe('toSvg', () => {
  it('draws every state and every edge label, the same every time', async () => {
    const svg = await toSvg(tiny);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    for (const label of ['idle', 'busy', 'connecting', 'retry', 'ready', 'failed', 'invoke connect', 'poke / log']) expect(svg).toContain(`>${label}</text>`);
    for (const label of ['go [isReady]', 'after pingTimeout', 'error(connect) [isFatal]', 'always', 'after 1000ms']) expect(svg).toContain(`>${label}</text>`);
    // Coordinates are whole numbers.
    expect(svg).not.toMatch(/ (x|y|x1|y1|x2|y2|cx|cy|width|height)="-?\d+\.\d/);
    expect(svg).not.toMatch(/ d="[^"]*\d\.\d/);
    expect(await toSvg(tiny)).toBe(svg);
  });
});
