import type { ServerTarget } from '../core/target.js';
import type { ConnectionSnapshot } from '../machines/connection.machine.js';
import type { ActorView } from './views.js';
import type { Supervisor } from './supervisor.js';
import type { TransitionRecord } from './stats.js';

/**
 * A target as the API may show it: env values and headers are secrets and never leave the
 * process; their names are enough to debug a config. Credentials in a URL are masked too.
 */
export function publicTarget(target: ServerTarget | undefined): Record<string, unknown> | undefined {
  if (!target) return undefined;
  switch (target.type) {
    case 'stdio':
      return { type: 'stdio', command: target.command, args: target.args ?? [], cwd: target.cwd, envKeys: Object.keys(target.env ?? {}) };
    case 'sse':
    case 'streamable-http':
      return {
        type: target.type,
        url: maskUrl(target.url),
        headerNames: Object.keys(target.headers ?? {}),
        ...(target.launch ? { launch: { command: target.launch.command, args: target.launch.args ?? [], cwd: target.launch.cwd, envKeys: Object.keys(target.launch.env ?? {}) } } : {}),
      };
    case 'memory':
      return { type: 'memory' };
  }
}

function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username) parsed.username = '***';
    if (parsed.password) parsed.password = '***';
    for (const key of [...parsed.searchParams.keys()]) {
      if (/token|key|secret|password|auth/i.test(key)) parsed.searchParams.set(key, '***');
    }
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
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
  const snapshot = supervisor.connection(id).getSnapshot();
  const { session, target, rngState: _rngState, samples, ...context } = snapshot.context;
  const definition = supervisor.definition(id);
  return {
    ...view,
    required: definition.required,
    dependsOn: definition.dependsOn,
    snapshot: {
      value: snapshot.value,
      context: {
        ...context,
        target: publicTarget(target),
        session: session ? session.toJSON() : null,
        recentSamples: samples.slice(-20),
      },
    },
    history: supervisor.statsOf(id).history,
  };
}
