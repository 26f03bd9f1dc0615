import type { ConnectionState } from '../core/states.js';
import type { ProtocolEra } from '../core/session.js';
import { roundMs, roundRatio } from '../core/round.js';
import type { ProcessFacts } from '../runtime/process/registry.js';
import { connectionStateOf } from '../machines/connection.machine.js';
import type { ConnectionSnapshot } from '../machines/connection.machine.js';
import type { SupervisorContext } from '../machines/supervisor.machine.js';
import { EMPTY_QUALITY } from '../core/quality/index.js';
import type { ServerDefinition } from '../config/load.js';
import type { ResourceFacts } from './resource-limits.js';

/** A server's process facts in its view: the process registry's, plus limits and memory trend from the resource watch. */
export type ProcessView = ProcessFacts & ResourceFacts;

/** What one connection looks like from outside (`/actors`, `supervisor.views()`). */
export interface ActorView {
  /** The server's id. */
  id: string;
  /** The connection state now. */
  state: ConnectionState;
  /** `stdio`, `sse`, `streamable-http` or `memory`. */
  transport: string;
  /** The protocol era the server last negotiated (`modern`: 2026-07-28, `legacy`: 2025-era); `null` before its first connect. */
  era: ProtocolEra | null;
  /** The server's configured priority; higher is admitted first. */
  priority: number;
  /** When the current state was entered (epoch ms). */
  since: number;
  /** Failed or lost attempts since the counter was last reset. */
  attempts: number;
  /** The last failure: its kind (an `ErrorKind`, `zombie` or `exhausted`), message and time (epoch ms); null if none yet. */
  lastError: { kind: string; message: string; at: number } | null;
  /** The connection's quality in brief: score 0..100, p50/p95 latency (ms), success rate 0..1, trend. */
  quality: { score: number; latencyMs: { p50: number | null; p95: number | null }; successRate: number | null; trend: string };
  /** Held in `reconnecting` by flap quarantine until this time (epoch ms). */
  quarantinedUntil: number | null;
  /** Whether it is queued for a reconnect slot from the supervisor right now. */
  waitingForSlot: boolean;
  /** For servers the supervisor runs as processes (stdio, launched HTTP). */
  process?: ProcessView;
  /** `true` for a disabled server: listed as `stopped`, never started until `start` enables it. */
  disabled?: boolean;
  /** In cluster mode: the instance that supervises it (docs/cluster.md). */
  owner?: string;
}

/**
 * The part of an {@link ActorView} a metrics scrape reads: one connection's state, transport, era,
 * quarantine and process facts. Built without the rest of the view (its quality, error, priority),
 * which at 10 000 servers is about half the cost of reading the fleet.
 */
export type ActorSummary = Pick<ActorView, 'id' | 'state' | 'transport' | 'era' | 'quarantinedUntil' | 'process'>;

/** When the connection's flap quarantine ends, if it is in one now. */
function quarantinedUntilOf(id: string, supervisor: SupervisorContext, now: number): number | null {
  const until = supervisor.quarantine.get(id)?.until;
  return until !== undefined && until > now ? until : null;
}

/** Builds the {@link ActorSummary} of one connection from its snapshot and the supervisor's context. */
export function summaryOf(id: string, snapshot: ConnectionSnapshot, supervisor: SupervisorContext, process: ProcessView | undefined, now = Date.now()): ActorSummary {
  const summary: ActorSummary = {
    id,
    state: connectionStateOf(snapshot),
    transport: snapshot.context.transport,
    era: snapshot.context.era,
    quarantinedUntil: quarantinedUntilOf(id, supervisor, now),
  };
  // Set, not spread into the literal: a spread there is a runtime call per object, which was
  // most of the cost of reading 10 000 summaries (about 0.5 µs each).
  if (process) summary.process = process;
  return summary;
}

/** What a view takes from the supervisor's context rather than the connection's snapshot. */
interface ServedParts {
  priority: number;
  quarantinedUntil: number | null;
  waitingForSlot: boolean;
}

function servedPartsOf(id: string, supervisor: SupervisorContext, now: number): ServedParts {
  return {
    priority: supervisor.servers[id]?.priority ?? 0,
    quarantinedUntil: quarantinedUntilOf(id, supervisor, now),
    // A set lookup: a list of the whole fleet stays linear even while a storm fills the queue.
    waitingForSlot: supervisor.queued.has(id),
  };
}

/** Builds the view of one connection from its snapshot and what the supervisor's context adds. */
function buildView(id: string, snapshot: ConnectionSnapshot, parts: ServedParts, process: ProcessView | undefined): ActorView {
  const { context } = snapshot;
  const view: ActorView = {
    id,
    state: connectionStateOf(snapshot),
    transport: context.transport,
    era: context.era,
    priority: parts.priority,
    since: context.since,
    attempts: context.attempts,
    lastError: context.lastError ?? null,
    quality: {
      score: context.quality.score,
      // Rounded here, at the view: 3 decimals (microseconds), not the 14 of performance.now().
      latencyMs: { p50: roundMs(context.quality.latencyMs.p50), p95: roundMs(context.quality.latencyMs.p95) },
      successRate: roundRatio(context.quality.successRate),
      trend: context.quality.trend,
    },
    quarantinedUntil: parts.quarantinedUntil,
    waitingForSlot: parts.waitingForSlot,
  };
  // Set, not spread into the literal (see summaryOf).
  if (process) view.process = process;
  return view;
}

/** Builds the view of one connection from its snapshot and the supervisor's context. */
export function viewOf(id: string, snapshot: ConnectionSnapshot, supervisor: SupervisorContext, process: ProcessView | undefined, now = Date.now()): ActorView {
  return buildView(id, snapshot, servedPartsOf(id, supervisor, now), process);
}

/**
 * A view's text as it was written, and what it was written from besides the snapshot. The parts
 * are copied in rather than held as their object: one object fewer per connection (~30 bytes).
 */
interface KeptText extends ServedParts {
  id: string;
  text: string;
}

/**
 * The JSON text of each connection's view, kept per connection snapshot. A fleet listed again
 * before its connections have moved (`GET /actors` polled at 10 000 servers, where a connection's
 * snapshot changes about twice per probe) is written from these instead of building and
 * serializing every view anew. Held weakly by snapshot, so a text goes when its snapshot does. A
 * view with process facts is written anew each time: those move with every sample and the clock.
 */
export class ViewTexts {
  private readonly kept = new WeakMap<ConnectionSnapshot, KeptText>();

  /** `JSON.stringify` of the connection's view, from the text kept while nothing it shows has changed. */
  textOf(id: string, snapshot: ConnectionSnapshot, supervisor: SupervisorContext, process: ProcessView | undefined, now = Date.now()): string {
    const parts = servedPartsOf(id, supervisor, now);
    if (process) return JSON.stringify(buildView(id, snapshot, parts, process));
    const kept = this.kept.get(snapshot);
    if (kept && kept.id === id && kept.priority === parts.priority && kept.quarantinedUntil === parts.quarantinedUntil && kept.waitingForSlot === parts.waitingForSlot) return kept.text;
    const text = JSON.stringify(buildView(id, snapshot, parts, undefined));
    // `JSON.stringify` returns its text as a rope of the parts it wrote (~440 bytes for a
    // 272-character view); reading one character flattens it in place (~310 bytes kept).
    text.charCodeAt(0);
    this.kept.set(snapshot, { id, text, priority: parts.priority, quarantinedUntil: parts.quarantinedUntil, waitingForSlot: parts.waitingForSlot });
    return text;
  }
}

/** The view of a disabled server, which has no connection actor: `stopped` since it joined the fleet. */
export function disabledViewOf(definition: ServerDefinition, since: number): ActorView {
  return {
    id: definition.id,
    state: 'stopped',
    transport: definition.target.type,
    era: null,
    priority: definition.priority,
    since,
    attempts: 0,
    lastError: null,
    quality: { score: EMPTY_QUALITY.score, latencyMs: { p50: null, p95: null }, successRate: null, trend: EMPTY_QUALITY.trend },
    quarantinedUntil: null,
    waitingForSlot: false,
    disabled: true,
  };
}
