import type { ProcessParams, ServerTarget } from '../core/target.js';
import { redactedTarget } from '../core/secrets.js';
import { roundMs, roundRatio, roundTo } from '../core/round.js';
import type { Quality, QualitySample } from '../core/quality/index.js';
import type { ConnectionSnapshot } from '../machines/connection.machine.js';
import type { ActorView } from './views.js';
import type { Supervisor } from './supervisor.js';
import type { TransitionRecord } from './stats.js';

/**
 * A target as the API may show it. The command, args, cwd and URL are shown as written in the
 * config, `${VAR}` placeholders and all, never with the values they expanded to (when the written
 * form is unknown, e.g. a target built in code, every known secret in them is `***`). Env values
 * and header values are secrets and never leave the process: their names are enough to debug a
 * config. A URL's userinfo and query values are masked (`***`), written or not.
 */
export function publicTarget(target: ServerTarget | undefined): Record<string, unknown> | undefined {
  if (!target) return undefined;
  // Its secrets out first (also what a target the loader made serializes as, so this is idempotent).
  const safe = redactedTarget(target);
  const processOf = (params: ProcessParams): Record<string, unknown> => ({
    command: params.command,
    args: params.args ?? [],
    cwd: params.cwd,
    envKeys: Object.keys(params.env ?? {}),
  });
  switch (safe.type) {
    case 'stdio':
      return { type: 'stdio', ...processOf(safe) };
    case 'sse':
    case 'streamable-http':
      return {
        type: safe.type,
        url: safe.url,
        headerNames: Object.keys(safe.headers ?? {}),
        ...(safe.launch ? { launch: processOf(safe.launch) } : {}),
      };
    case 'memory':
      return { type: 'memory' };
  }
}

/** A connection's quality with its numbers rounded for JSON: latencies to the microsecond. */
function publicQuality(quality: Quality): Quality {
  return {
    ...quality,
    parts: { latency: roundTo(quality.parts.latency, 3), success: roundTo(quality.parts.success, 3), stability: roundTo(quality.parts.stability, 3) },
    latencyMs: { p50: roundMs(quality.latencyMs.p50), p95: roundMs(quality.latencyMs.p95), ewma: roundMs(quality.latencyMs.ewma) },
    successRate: roundRatio(quality.successRate),
    transitionsPerHour: roundTo(quality.transitionsPerHour, 3),
  };
}

function publicSample(sample: QualitySample): QualitySample {
  return { ...sample, latencyMs: roundMs(sample.latencyMs) };
}

export interface ActorDetail extends ActorView {
  snapshot: { value: ConnectionSnapshot['value']; context: Record<string, unknown> };
  history: TransitionRecord[];
  required: boolean;
  dependsOn: string[];
}

/** One actor in full: its view, its XState snapshot (minus secrets and live objects), its history. */
export function actorDetail(supervisor: Supervisor, id: string): ActorDetail {
  const view = supervisor.view(id);
  if (view.disabled) {
    // No actor yet: the definition stands in for the snapshot until `start` enables it.
    const definition = supervisor.definition(id);
    return { ...view, required: definition.required, dependsOn: definition.dependsOn, snapshot: { value: 'stopped', context: { target: publicTarget(definition.target) } }, history: [] };
  }
  const snapshot = supervisor.connection(id).getSnapshot();
  // reportTo is plumbing (where the connection's messages go), not a fact about the server.
  const { session, target, rngState: _rngState, reportTo: _reportTo, samples, quality, ...context } = snapshot.context;
  const definition = supervisor.definition(id);
  return {
    ...view,
    required: definition.required,
    dependsOn: definition.dependsOn,
    snapshot: {
      value: snapshot.value,
      context: {
        ...context,
        quality: publicQuality(quality),
        target: publicTarget(target),
        session: session ? session.toJSON() : null,
        recentSamples: samples.toArray().slice(-20).map(publicSample),
      },
    },
    history: supervisor.statsOf(id).history,
  };
}
