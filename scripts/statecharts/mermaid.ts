/**
 * A machine as a Mermaid `stateDiagram-v2`.
 *
 * - Compound states are composite states (`state healthy { ... }`), parallel states composites
 *   whose regions are separated by `--`; `[*] --> x` marks each initial state, `x --> [*]` each
 *   final one.
 * - Nested states are named by path (`healthy_probing`) and labelled by key
 *   (`state "probing" as healthy_probing`): Mermaid state ids are global.
 * - Edges read `a --> b: event [guard]` (see `graph.ts` for the labels).
 * - What a state does without leaving (invoked actors, targetless transitions) is listed on the
 *   state: as description lines (`x : invoke probe`) on simple states, in a note
 *   (`note right of x`) on composite ones.
 * - An edge is written inside a composite only when both its ends are that composite's own
 *   children; every other edge is written at the top level, after all states are declared.
 *   (Mermaid puts a state inside the composite whose block first mentions it, so an edge
 *   written inside a composite would pull an outside target into it.)
 * - When the machine root handles events itself, it is drawn as a composite named after the
 *   machine, with a note listing them.
 */
import type { AnyStateMachine } from 'xstate';
import { toChart } from './graph.js';
import type { Chart, ChartEdge, ChartState } from './graph.js';

const INDENT = '  ';

export function toMermaid(machine: AnyStateMachine): string {
  return chartToMermaid(toChart(machine));
}

export function chartToMermaid(chart: Chart): string {
  const lines = ['stateDiagram-v2'];
  const parentOf = new Map<string, string>();
  const index = (state: ChartState): void => {
    for (const child of state.children) {
      parentOf.set(child.name, state.name);
      index(child);
    }
  };
  index(chart.root);

  // Edges between two children of the same composite (or a child and itself) stay inside it.
  const local = new Map<string, ChartEdge[]>();
  const topLevel: ChartEdge[] = [];
  const topName = chart.drawRoot ? undefined : chart.root.name;
  for (const edge of chart.edges) {
    const parent = parentOf.get(edge.source);
    if (parent !== undefined && parent !== topName && parent === parentOf.get(edge.target)) {
      const list = local.get(parent) ?? [];
      list.push(edge);
      local.set(parent, list);
    } else {
      topLevel.push(edge);
    }
  }

  const edgeLine = (edge: ChartEdge): string => `${edge.source} --> ${edge.target}: ${text(edge.label)}`;

  /** The lines that make up `state`'s contents (its children and their edges). */
  const body = (state: ChartState, depth: number): string[] => {
    const pad = INDENT.repeat(depth);
    const out: string[] = [];
    if (state.type === 'parallel') {
      state.children.forEach((region, i) => {
        if (i > 0) out.push(`${pad}--`);
        out.push(...declare(region, depth));
      });
    } else {
      if (state.initial !== undefined) out.push(`${pad}[*] --> ${state.initial}`);
      for (const child of state.children) out.push(...declare(child, depth));
    }
    for (const edge of local.get(state.name) ?? []) out.push(pad + edgeLine(edge));
    for (const child of state.children) if (child.type === 'final') out.push(`${pad}${child.name} --> [*]`);
    return out;
  };

  /** The lines that declare `state` in its parent's block. */
  const declare = (state: ChartState, depth: number): string[] => {
    const pad = INDENT.repeat(depth);
    const label = displayLabel(state);
    if (state.children.length === 0) {
      // Description lines replace a bare state's title, so a state with some is always labelled.
      const out = [label === state.name && state.notes.length === 0 ? `${pad}${state.name}` : `${pad}state "${quoted(label)}" as ${state.name}`];
      for (const note of state.notes) out.push(`${pad}${state.name} : ${text(note)}`);
      return out;
    }
    const out = [label === state.name ? `${pad}state ${state.name} {` : `${pad}state "${quoted(label)}" as ${state.name} {`];
    out.push(...body(state, depth + 1), `${pad}}`);
    if (state.notes.length > 0) {
      out.push(`${pad}note right of ${state.name}`);
      // Not indented: Mermaid keeps the indentation, and its Markdown labels read it as code.
      for (const note of state.notes) out.push(text(note));
      out.push(`${pad}end note`);
    }
    return out;
  };

  if (chart.drawRoot) {
    lines.push(`${INDENT}[*] --> ${chart.root.name}`, ...declare(chart.root, 1));
  } else {
    lines.push(...body(chart.root, 1));
  }
  for (const edge of topLevel) lines.push(INDENT + edgeLine(edge));
  return `${lines.join('\n')}\n`;
}

function displayLabel(state: ChartState): string {
  if (state.type === 'history') return state.deep ? 'H*' : 'H';
  return state.label;
}

/** Text after a `:` or in a note: Mermaid reads `;`, `{`, `}` and `#…;` itself. */
function text(value: string): string {
  return value.replace(/[#;{}]/g, (char) => `#${char.charCodeAt(0)};`);
}

function quoted(value: string): string {
  return text(value).replace(/"/g, '#quot;');
}
