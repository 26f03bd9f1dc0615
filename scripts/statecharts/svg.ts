/**
 * A machine as a standalone SVG, with no browser: the graph from `graph.ts` is laid out by ELK
 * (`elkjs`, layered algorithm, hierarchy included so edges may cross composite borders) and
 * drawn here: rounded boxes for states (composite states as containers around their
 * children), a dot for each initial state, orthogonal polylines with arrowheads for the edges.
 *
 * Edges between the same two states are drawn once, with one label line per transition.
 * What a state does without leaving (invoked actors, targetless transitions) is listed inside
 * its box under a rule, as in the Mermaid text. Text is measured with a fixed table of glyph
 * widths, and every coordinate is rounded, so the output depends only on the machine.
 */
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkLabel, ElkNode } from 'elkjs/lib/elk-api.js';
import type { AnyStateMachine } from 'xstate';
import { toChart } from './graph.js';
import type { Chart, ChartState } from './graph.js';

export interface SvgOptions {
  /** Put in an XML comment at the top (e.g. where the file comes from). */
  comment?: string;
  /** ELK options to add to or override the defaults, for the chart and every composite in it. */
  layout?: Record<string, string>;
}

const FONT_SIZE = 12;
const LINE = 16;
const PAD_X = 12;
const TITLE_HEIGHT = 28;
const NOTE_PAD = 6;
const INITIAL_SIZE = 12;
const LABEL_PAD_X = 4;
const LABEL_LINE = 14;

const COLORS = {
  background: '#ffffff',
  stateFill: '#eef3ff',
  stateStroke: '#3d5a98',
  containerFill: ['#f6f8fc', '#ffffff'],
  containerStroke: '#7d8db3',
  title: '#1b2a4a',
  note: '#4a5568',
  rule: '#a9b7d8',
  edge: '#59606e',
  /** Each drawn edge takes the next of these, and its label the same, to tell them apart. */
  edges: ['#2f5597', '#b03a2e', '#2e7d32', '#7b3fa0', '#b86e00', '#00796b', '#6d4c41', '#ad1457'],
  labelFill: '#ffffff',
} as const;

/** Options for every graph ELK lays out: the whole chart and each composite state's insides. */
const LAYERED: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.edgeLabels.placement': 'CENTER',
  // Labels next to the layer the edge ends in: the label is found by looking at the target.
  'elk.layered.edgeLabels.centerLabelPlacementStrategy': 'HEAD_LAYER',
  // States flow down from the initial state (a depth-first walk from it); the transitions that
  // go back up are the ones that close cycles. Model order is not considered: every model-order
  // strategy (`PREFER_EDGES`, `NODES_AND_EDGES`, `PREFER_NODES`) crashes ELK 0.12 on charts
  // three levels deep (the connection machine's `serving.healthy.probing`) or with parallel
  // regions (the supervisor's `admission` and `quarantine`).
  'elk.layered.considerModelOrder.strategy': 'NONE',
  'elk.layered.cycleBreaking.strategy': 'DEPTH_FIRST',
  'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
  'elk.spacing.nodeNode': '32',
  'elk.layered.spacing.nodeNodeBetweenLayers': '36',
  'elk.spacing.edgeNode': '16',
  'elk.spacing.edgeEdge': '12',
  'elk.layered.spacing.edgeEdgeBetweenLayers': '12',
  'elk.layered.spacing.edgeNodeBetweenLayers': '16',
  'elk.spacing.edgeLabel': '4',
};

/** For the whole chart: one layout across composite borders, all coordinates absolute. */
const LAYOUT: Record<string, string> = {
  ...LAYERED,
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.json.edgeCoords': 'ROOT',
  'elk.json.shapeCoords': 'ROOT',
  'elk.padding': '[top=20,left=20,bottom=20,right=20]',
};

/** Helvetica/Arial advance widths in 1/1000 em; anything else counts as 556. */
const GLYPH_WIDTHS: Record<string, number> = {
  ' ': 278, '!': 278, '"': 355, '#': 556, '%': 889, '&': 667, "'": 191, '(': 333, ')': 333, '*': 389, '+': 584,
  ',': 278, '-': 333, '.': 278, '/': 278, ':': 278, ';': 278, '<': 584, '=': 584, '>': 584, '?': 556, '@': 1015,
  '[': 278, ']': 278, '_': 556, '|': 260, '{': 334, '}': 334,
  A: 667, B: 667, C: 722, D: 722, E: 667, F: 611, G: 778, H: 722, I: 278, J: 500, K: 667, L: 556, M: 833,
  N: 722, O: 778, P: 667, Q: 778, R: 722, S: 667, T: 611, U: 722, V: 667, W: 944, X: 667, Y: 667, Z: 611,
  a: 556, b: 556, c: 500, d: 556, e: 556, f: 278, g: 556, h: 556, i: 222, j: 222, k: 500, l: 222, m: 833,
  n: 556, o: 556, p: 556, q: 556, r: 333, s: 500, t: 278, u: 556, v: 500, w: 722, x: 500, y: 500, z: 500,
};

/**
 * Text width at 12px, with room to spare: viewers fall back to wider faces than Helvetica for
 * `sans-serif` (DejaVu Sans is about 10% wider), and a label must not overflow its box.
 */
function textWidth(text: string, bold = false): number {
  let units = 0;
  for (const char of text) units += GLYPH_WIDTHS[char] ?? 556;
  return Math.ceil(((units * FONT_SIZE) / 1000) * (bold ? 1.2 : 1.12));
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export async function toSvg(machine: AnyStateMachine, options: SvgOptions = {}): Promise<string> {
  return chartToSvg(toChart(machine), options);
}

export async function chartToSvg(chart: Chart, options: SvgOptions = {}): Promise<string> {
  const states = new Map<string, ChartState>();
  const parentOf = new Map<string, string>();
  const depthOf = new Map<string, number>();
  const visible = chart.drawRoot ? [chart.root] : chart.root.children;
  const index = (state: ChartState, parent: string, depth: number): void => {
    states.set(state.name, state);
    parentOf.set(state.name, parent);
    depthOf.set(state.name, depth);
    for (const child of state.children) index(child, state.name, depth + 1);
  };
  for (const state of visible) index(state, GRAPH_ID, 0);

  const containers = new Map<string, ElkNode>();
  const graph: ElkNode = { id: GRAPH_ID, layoutOptions: { ...LAYOUT, ...options.layout }, children: [], edges: [] };
  containers.set(GRAPH_ID, graph);

  const node = (state: ChartState): ElkNode => {
    if (state.children.length === 0) {
      const size = leafSize(state);
      return { id: state.name, width: size.width, height: size.height };
    }
    const header = headerHeight(state);
    const titleWidth = Math.max(textWidth(titleOf(state), true), ...state.notes.map((note) => textWidth(note)));
    const container: ElkNode = {
      id: state.name,
      layoutOptions: {
        // Not inherited from the root: each composite's insides are laid out with its own options.
        ...LAYERED,
        ...options.layout,
        'elk.padding': `[top=${header + 12},left=16,bottom=16,right=16]`,
        'elk.nodeSize.constraints': 'MINIMUM_SIZE',
        'elk.nodeSize.minimum': `(${titleWidth + 2 * PAD_X}, ${header + 40})`,
      },
      children: [],
      edges: [],
    };
    containers.set(state.name, container);
    if (state.initial !== undefined) container.children?.push(initialNode(state.name));
    for (const child of state.children) container.children?.push(node(child));
    return container;
  };
  if (chart.drawRoot || chart.root.initial !== undefined) graph.children?.push(initialNode(GRAPH_ID));
  for (const state of visible) graph.children?.push(node(state));

  // Initial dots point at the initial child; the drawn root's dot points at the root.
  const initialEdges: { id: string; container: string; source: string; target: string }[] = [];
  const addInitial = (container: string, target: string): void => {
    initialEdges.push({ id: `${initialId(container)}:edge`, container, source: initialId(container), target });
  };
  if (chart.drawRoot) addInitial(GRAPH_ID, chart.root.name);
  else if (chart.root.initial !== undefined) addInitial(GRAPH_ID, chart.root.initial);
  for (const state of states.values()) if (state.initial !== undefined) addInitial(state.name, state.initial);
  for (const edge of initialEdges) {
    containers.get(edge.container)?.edges?.push({ id: edge.id, sources: [edge.source], targets: [edge.target] });
  }

  // One drawn edge per (source, target), one label line per transition.
  const merged = new Map<string, { source: string; target: string; lines: string[] }>();
  for (const edge of chart.edges) {
    const key = `${edge.source}\u0000${edge.target}`;
    const entry = merged.get(key) ?? { source: edge.source, target: edge.target, lines: [] };
    if (!entry.lines.includes(edge.label)) entry.lines.push(edge.label);
    merged.set(key, entry);
  }
  [...merged.values()].forEach((edge, i) => {
    const width = Math.max(...edge.lines.map((line) => textWidth(line))) + 2 * LABEL_PAD_X;
    const label: ElkLabel = { id: `${EDGE_PREFIX}${i}:label`, text: edge.lines.join('\n'), width, height: edge.lines.length * LABEL_LINE + 4 };
    const elkEdge: ElkExtendedEdge = { id: `${EDGE_PREFIX}${i}`, sources: [edge.source], targets: [edge.target], labels: [label] };
    containers.get(commonContainer(edge.source, edge.target, parentOf))?.edges?.push(elkEdge);
  });

  // The CommonJS module is the constructor itself; its typings declare it as `default`, which it also is.
  const elk = new ELK.default();
  const laid = await elk.layout(graph);

  // Collect what ELK placed.
  const boxes = new Map<string, Box>();
  const collectNodes = (elkNode: ElkNode): void => {
    for (const child of elkNode.children ?? []) {
      boxes.set(child.id, { x: child.x ?? 0, y: child.y ?? 0, width: child.width ?? 0, height: child.height ?? 0 });
      collectNodes(child);
    }
  };
  collectNodes(laid);
  const laidEdges: ElkExtendedEdge[] = [];
  const collectEdges = (elkNode: ElkNode): void => {
    laidEdges.push(...(elkNode.edges ?? []));
    for (const child of elkNode.children ?? []) collectEdges(child);
  };
  collectEdges(laid);
  laidEdges.sort((a, b) => edgeOrder(a.id) - edgeOrder(b.id) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const width = Math.ceil(laid.width ?? 0);
  const height = Math.ceil(laid.height ?? 0);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="${FONT_SIZE}">`);
  if (options.comment !== undefined) out.push(`<!-- ${escapeComment(options.comment)} -->`);
  out.push(`<title>${escape(chart.id)} statechart</title>`);
  // One arrowhead per edge color: a marker cannot take the color of the path using it.
  const colors: string[] = [COLORS.edge, ...COLORS.edges];
  const markerOf = (color: string): string => `arrow-${safeId(chart.id)}-${colors.indexOf(color)}`;
  out.push('<defs>');
  for (const color of colors) {
    out.push(
      `<marker id="${markerOf(color)}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">` +
        `<path d="M0,0 L10,5 L0,10 z" fill="${color}"/></marker>`,
    );
  }
  out.push('</defs>');
  const colorOf = (edge: ElkExtendedEdge): string => {
    const order = edgeOrder(edge.id);
    return order < 0 ? COLORS.edge : (COLORS.edges[order % COLORS.edges.length] ?? COLORS.edge);
  };
  out.push(`<rect width="${width}" height="${height}" fill="${COLORS.background}"/>`);

  const ordered = [...states.values()];
  // Containers first (outer before inner), so their children are drawn on top of them.
  for (const state of ordered) {
    const box = boxes.get(state.name);
    if (box === undefined || state.children.length === 0) continue;
    out.push(...drawContainer(state, box, depthOf.get(state.name) ?? 0));
  }
  for (const edge of laidEdges) out.push(...drawEdge(edge, colorOf(edge), markerOf(colorOf(edge))));
  for (const [id, box] of boxes) {
    if (id.endsWith(INITIAL_SUFFIX)) {
      out.push(`<circle cx="${n(box.x + box.width / 2)}" cy="${n(box.y + box.height / 2)}" r="${INITIAL_SIZE / 2}" fill="${COLORS.title}"/>`);
    }
  }
  for (const state of ordered) {
    const box = boxes.get(state.name);
    if (box === undefined || state.children.length > 0) continue;
    out.push(...drawLeaf(state, box));
  }
  for (const edge of laidEdges) out.push(...drawLabels(edge, colorOf(edge)));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

// State names are `[A-Za-z0-9_]+`, so ids with a `:` cannot clash with them.
const GRAPH_ID = ':graph';
const INITIAL_SUFFIX = ':initial';
const EDGE_PREFIX = 'edge:';

function initialId(container: string): string {
  return `${container}${INITIAL_SUFFIX}`;
}

/** Inside a composite the dot goes on top; at the top level it stays next to its state. */
function initialNode(container: string): ElkNode {
  const node: ElkNode = { id: initialId(container), width: INITIAL_SIZE, height: INITIAL_SIZE };
  if (container !== GRAPH_ID) node.layoutOptions = { 'elk.layered.layering.layerConstraint': 'FIRST' };
  return node;
}

/** Initial edges first, then transitions in chart order. */
function edgeOrder(id: string): number {
  const match = /^edge:(\d+)$/.exec(id);
  return match?.[1] === undefined ? -1 : Number(match[1]);
}

/** The container an edge belongs in: the innermost one holding both ends. */
function commonContainer(source: string, target: string, parentOf: ReadonlyMap<string, string>): string {
  const ancestors = (name: string): string[] => {
    const chain: string[] = [];
    for (let parent = parentOf.get(name); parent !== undefined; parent = parentOf.get(parent)) chain.push(parent);
    return chain;
  };
  const targetAncestors = new Set(ancestors(target));
  return ancestors(source).find((name) => targetAncestors.has(name)) ?? GRAPH_ID;
}

function titleOf(state: ChartState): string {
  if (state.type === 'history') return state.deep ? 'H*' : 'H';
  if (state.type === 'parallel') return `${state.label} (parallel)`;
  return state.label;
}

function headerHeight(state: ChartState): number {
  return TITLE_HEIGHT + (state.notes.length > 0 ? state.notes.length * LINE + NOTE_PAD : 0);
}

function leafSize(state: ChartState): { width: number; height: number } {
  const title = textWidth(titleOf(state), true);
  const notes = state.notes.map((note) => textWidth(note));
  return { width: Math.max(64, title + 2 * PAD_X + 8, ...notes.map((w) => w + 2 * PAD_X)), height: headerHeight(state) };
}

function drawContainer(state: ChartState, box: Box, depth: number): string[] {
  const fill = COLORS.containerFill[depth % 2];
  const dash = state.type === 'parallel' ? ' stroke-dasharray="6 4"' : '';
  const out = [
    `<g id="state-${safeId(state.name)}">`,
    `<rect x="${n(box.x)}" y="${n(box.y)}" width="${n(box.width)}" height="${n(box.height)}" rx="12" fill="${fill}" stroke="${COLORS.containerStroke}" stroke-width="1.2"${dash}/>`,
    `<text x="${n(box.x + PAD_X)}" y="${n(box.y + 18)}" font-weight="bold" fill="${COLORS.title}">${escape(titleOf(state))}</text>`,
  ];
  out.push(...drawNotes(state, box, 'start'));
  out.push('</g>');
  return out;
}

function drawLeaf(state: ChartState, box: Box): string[] {
  const out = [
    `<g id="state-${safeId(state.name)}">`,
    `<rect x="${n(box.x)}" y="${n(box.y)}" width="${n(box.width)}" height="${n(box.height)}" rx="8" fill="${COLORS.stateFill}" stroke="${COLORS.stateStroke}" stroke-width="1.3"/>`,
  ];
  if (state.type === 'final') {
    out.push(`<rect x="${n(box.x + 3)}" y="${n(box.y + 3)}" width="${n(box.width - 6)}" height="${n(box.height - 6)}" rx="6" fill="none" stroke="${COLORS.stateStroke}"/>`);
  }
  out.push(`<text x="${n(box.x + box.width / 2)}" y="${n(box.y + 18)}" text-anchor="middle" font-weight="bold" fill="${COLORS.title}">${escape(titleOf(state))}</text>`);
  out.push(...drawNotes(state, box, 'middle'));
  out.push('</g>');
  return out;
}

function drawNotes(state: ChartState, box: Box, anchor: 'start' | 'middle'): string[] {
  if (state.notes.length === 0) return [];
  const out = [`<line x1="${n(box.x)}" y1="${n(box.y + TITLE_HEIGHT)}" x2="${n(box.x + box.width)}" y2="${n(box.y + TITLE_HEIGHT)}" stroke="${COLORS.rule}"/>`];
  const x = anchor === 'middle' ? box.x + box.width / 2 : box.x + PAD_X;
  state.notes.forEach((note, i) => {
    const y = box.y + TITLE_HEIGHT + NOTE_PAD / 2 + i * LINE + 12;
    out.push(`<text x="${n(x)}" y="${n(y)}"${anchor === 'middle' ? ' text-anchor="middle"' : ''} font-style="italic" fill="${COLORS.note}">${escape(note)}</text>`);
  });
  return out;
}

function drawEdge(edge: ElkExtendedEdge, color: string, marker: string): string[] {
  const out: string[] = [];
  for (const section of edge.sections ?? []) {
    const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint];
    const d = points.map((point, i) => `${i === 0 ? 'M' : 'L'}${n(point.x)},${n(point.y)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.3" stroke-linejoin="round" marker-end="url(#${marker})"/>`);
  }
  return out;
}

function drawLabels(edge: ElkExtendedEdge, color: string): string[] {
  const out: string[] = [];
  for (const label of edge.labels ?? []) {
    if (label.text === undefined || label.x === undefined || label.y === undefined) continue;
    const lines = label.text.split('\n');
    const box = { x: label.x, y: label.y, width: label.width ?? 0, height: label.height ?? 0 };
    out.push(`<rect x="${n(box.x)}" y="${n(box.y)}" width="${n(box.width)}" height="${n(box.height)}" rx="3" fill="${COLORS.labelFill}" fill-opacity="0.9"/>`);
    lines.forEach((line, i) => {
      out.push(`<text x="${n(box.x + box.width / 2)}" y="${n(box.y + 2 + i * LABEL_LINE + 11)}" text-anchor="middle" fill="${color}">${escape(line)}</text>`);
    });
  }
  return out;
}

/** Coordinates are rounded to whole pixels: stable output, and crisp enough at this scale. */
function n(value: number): string {
  return String(Math.round(value));
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function escapeComment(text: string): string {
  return text.replace(/--/g, '- -');
}

function safeId(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_');
}
