/**
 * A machine's structure as a plain graph: the one model both the Mermaid text and the SVG are
 * drawn from, read from the machine definition itself (`machine.root` and its state nodes).
 *
 * - Every state gets a unique name built from its path (`healthy.probing` → `healthy_probing`),
 *   since Mermaid state ids are global across composite states; its label is its own key.
 * - An edge is a transition with a target, labelled `event [guard]`. Delayed transitions read
 *   `after <delay name>` (`after 500ms` for a number), invoked actors' completions read
 *   `done(<actor>)` / `error(<actor>)`, eventless ones `always`, a compound state's completion
 *   `done`. An unguarded transition listed after guarded ones for the same event is `[else]`.
 * - Targetless transitions (actions only: the state is not left) are not edges: they are listed
 *   in the state's `notes` as `event [guard] / action, action`, after its `invoke <actor>` lines.
 *   So the diagram shows every event a state handles, and what it does about the ones that
 *   do not move it.
 *
 * Everything is in definition order (states, events, candidates), so the output is stable.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

type ChartStateType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export interface ChartState {
  /** Unique across the chart, safe as a Mermaid and SVG id: `healthy_probing`. */
  name: string;
  /** The state's own key, shown as its label: `probing`. */
  label: string;
  /** Dotted path from the machine root (`healthy.probing`); empty for the root. */
  path: string;
  type: ChartStateType;
  /** Deep history for history states. */
  deep: boolean;
  children: ChartState[];
  /** The name of the initial child, for compound states. */
  initial: string | undefined;
  /** `invoke <actor>` lines, then the transitions that do not leave the state. */
  notes: string[];
}

export interface ChartEdge {
  source: string;
  target: string;
  /** `event [guard]`. */
  label: string;
}

export interface Chart {
  /** The machine id. */
  id: string;
  /** The machine root; its children are the top-level states. */
  root: ChartState;
  /** Whether the root must be drawn as a state: it invokes actors or handles events itself. */
  drawRoot: boolean;
  edges: ChartEdge[];
}

const AFTER_PREFIX = 'xstate.after.';
const DONE_ACTOR_PREFIX = 'xstate.done.actor.';
const ERROR_ACTOR_PREFIX = 'xstate.error.actor.';
const DONE_STATE_PREFIX = 'xstate.done.state.';

/** Words Mermaid's state diagram grammar reads as keywords. */
const RESERVED = new Set(['state', 'note', 'end', 'as', 'direction', 'class', 'classdef', 'style', 'click', 'left', 'right', 'of', 'root']);

type Transition = AnyStateNode['always'] extends (infer T)[] | undefined ? T : never;

export function toChart(machine: AnyStateMachine): Chart {
  const root = machine.root;
  const names = new Map<AnyStateNode, string>();
  const used = new Set<string>();
  const allocate = (node: AnyStateNode, base: string): void => {
    let name = base;
    for (let n = 2; used.has(name.toLowerCase()); n += 1) name = `${base}_${n}`;
    used.add(name.toLowerCase());
    names.set(node, name);
  };
  allocate(root, safeName(root.key));
  const nameAll = (node: AnyStateNode): void => {
    for (const child of childrenOf(node)) {
      allocate(child, child.path.map(safeName).join('_'));
      nameAll(child);
    }
  };
  nameAll(root);
  const nameOf = (node: AnyStateNode): string => {
    const name = names.get(node);
    if (name === undefined) throw new Error(`statecharts: ${node.id} is not a state of ${machine.id}`);
    return name;
  };

  const edges: ChartEdge[] = [];
  const build = (node: AnyStateNode): ChartState => {
    const notes = node.invoke.map((invoke) => `invoke ${actorName(invoke.src, invoke.id)}`);
    for (const [descriptor, candidates] of transitionLists(node)) {
      candidates.forEach((transition, index) => {
        const event = eventLabel(node, descriptor);
        const guard = transition.guard !== undefined ? guardName(transition.guard) : candidates.slice(0, index).some((c) => c.guard !== undefined) ? 'else' : undefined;
        const label = guard === undefined ? event : `${event} [${guard}]`;
        const targets = transition.target ?? [];
        if (targets.length === 0) {
          const actions = transition.actions.map(actionName);
          notes.push(actions.length > 0 ? `${label} / ${actions.join(', ')}` : label);
        }
        for (const target of targets) edges.push({ source: nameOf(node), target: nameOf(target), label });
      });
    }
    const children = childrenOf(node).map(build);
    const initialTarget = node.type === 'compound' ? node.initial.target[0] : undefined;
    return {
      name: nameOf(node),
      label: node.key,
      path: node.path.join('.'),
      type: node.type,
      deep: node.type === 'history' && node.history === 'deep',
      children,
      initial: initialTarget === undefined ? undefined : nameOf(initialTarget),
      notes,
    };
  };
  const chartRoot = build(root);
  const drawRoot = chartRoot.notes.length > 0 || edges.some((edge) => edge.source === chartRoot.name || edge.target === chartRoot.name);
  return { id: machine.id, root: chartRoot, drawRoot, edges };
}

/** Every state of the chart, depth first in definition order, the root first. */
export function chartStates(chart: Chart): ChartState[] {
  const all: ChartState[] = [];
  const visit = (state: ChartState): void => {
    all.push(state);
    state.children.forEach(visit);
  };
  visit(chart.root);
  return all;
}

function childrenOf(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states) as AnyStateNode[];
}

/** The node's transitions by event in definition order, eventless ones last. */
function transitionLists(node: AnyStateNode): [string, readonly Transition[]][] {
  const lists: [string, readonly Transition[]][] = [...(node.transitions as Map<string, Transition[]>)];
  if (node.always !== undefined && node.always.length > 0) lists.push(['', node.always]);
  return lists;
}

function eventLabel(node: AnyStateNode, descriptor: string): string {
  if (descriptor === '') return 'always';
  if (descriptor.startsWith(AFTER_PREFIX)) {
    const delayed = node.after.find((transition) => transition.eventType === descriptor);
    const delay = delayed?.delay;
    if (typeof delay === 'number') return `after ${delay}ms`;
    if (typeof delay === 'string') return `after ${delay}`;
    return 'after';
  }
  for (const [prefix, word] of [
    [DONE_ACTOR_PREFIX, 'done'],
    [ERROR_ACTOR_PREFIX, 'error'],
  ] as const) {
    if (!descriptor.startsWith(prefix)) continue;
    const id = descriptor.slice(prefix.length);
    const invoke = node.invoke.find((definition) => definition.id === id);
    return `${word}(${invoke === undefined ? id : actorName(invoke.src, invoke.id)})`;
  }
  if (descriptor.startsWith(DONE_STATE_PREFIX)) return 'done';
  return descriptor;
}

/** The name an invoked actor is shown by: its `src` when it names one, else its invoke id. */
function actorName(src: unknown, id: string): string {
  return typeof src === 'string' && !src.startsWith('xstate.invoke.') ? src : id;
}

type GuardLike = string | { type?: unknown } | ((...args: never[]) => unknown);

/** `name`, `not(name)`, `and(a, b)`, `or(a, b)`, `in(state)`; inline functions by their name. */
function guardName(guard: unknown): string {
  const g = guard as GuardLike;
  if (typeof g === 'string') return g;
  if (typeof g === 'function') {
    const higher = g as { guards?: unknown[]; stateValue?: unknown; name: string };
    if (Array.isArray(higher.guards)) {
      const inner = higher.guards.map(guardName);
      if (higher.name === 'not') return `not(${inner.join(', ')})`;
      return `${higher.name}(${inner.join(', ')})`;
    }
    if (higher.stateValue !== undefined) return `in(${JSON.stringify(higher.stateValue)})`;
    return g.name && g.name !== 'guard' ? g.name : 'inline';
  }
  if (typeof g === 'object' && g !== null && typeof g.type === 'string') return g.type;
  return 'inline';
}

function actionName(action: unknown): string {
  if (typeof action === 'string') return action;
  const typed = action as { type?: unknown; name?: unknown } | null;
  if ((typeof typed === 'object' || typeof typed === 'function') && typed !== null) {
    if (typeof typed.type === 'string') return typed.type;
    if (typeof typed.name === 'string' && typed.name !== '' && typed.name !== 'action') return typed.name;
  }
  return 'inline';
}

function safeName(key: string): string {
  let name = key.replace(/[^A-Za-z0-9_]/g, '_');
  if (name === '' || /^[0-9]/.test(name)) name = `s_${name}`;
  if (RESERVED.has(name.toLowerCase())) name = `${name}_`;
  return name;
}
