import { readFile } from 'node:fs/promises';
import type { ServerTarget } from '../core/target.js';
import { resolveSettings } from '../core/settings.js';
import type { ConnectionSettings } from '../core/settings.js';
import { expandEnv } from './env.js';
import { ConfigError } from './errors.js';
import type { ConfigIssue } from './errors.js';
import { configSchema, serverEntrySchema, serverIdSchema } from './schema.js';
import type { ParsedConfig, ServerEntry } from './schema.js';

/** One server, ready to supervise: transport target plus fully resolved settings. */
export interface ServerDefinition {
  /** The server's id: its key in `mcpServers`. */
  id: string;
  /** Where the server is and how to reach it (secrets included). */
  target: ServerTarget;
  /** Higher is admitted first when reconnect slots are scarce; default 0. */
  priority: number;
  /** Ids of servers that must be `healthy` before this one is admitted; default none. */
  dependsOn: string[];
  /** Whether the server counts toward the `/health` verdict; default true. */
  required: boolean;
  /** A disabled server is kept in the config but not supervised; default false. */
  disabled: boolean;
  /** Defaults, then `supervisor.health`, then the server's own `health`. */
  settings: ConnectionSettings;
}

/** A validated config: the supervisor-wide settings and every server, ready to supervise. */
export interface SupervisorConfig {
  /** At most this many connections in `connecting` at once; default 4. */
  maxConcurrentReconnects: number;
  /** The HTTP API's bearer token, if the config sets one. */
  token?: string;
  /** Every server of the config, in config order (disabled ones included). */
  servers: ServerDefinition[];
}

/** Environment variables for `${VAR}` expansion in a config, by name (`process.env` by default). */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates an `mcpServers` JSON config file, expanding `${VAR}` placeholders from
 * `env`; throws `ConfigError` listing every problem (an unreadable file or bad JSON included).
 *
 * @example
 * ```ts
 * const config = await loadConfigFile('mcp.json');
 * const supervisor = createSupervisor(config);
 * ```
 */
export async function loadConfigFile(path: string, env: Env = process.env): Promise<SupervisorConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [{ path: '', message: `cannot read file: ${(error as Error).message}` }]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(path, [{ path: '', message: `not valid JSON: ${(error as Error).message}` }]);
  }
  return parseConfig(raw, env, path);
}

/** Validates a config object and lists every problem by path; throws `ConfigError`. */
export function parseConfig(raw: unknown, env: Env = process.env, source = '(inline)'): SupervisorConfig {
  const issues: ConfigIssue[] = [];
  const expanded = expandEnv(raw, env, issues);
  const result = configSchema.safeParse(expanded);
  if (!result.success) {
    for (const issue of result.error.issues) issues.push({ path: issue.path.map(String).join('.'), message: issue.message });
  }
  // Dependencies are checked even when other fields are wrong, so one run lists every problem.
  issues.push(...dependencyIssues(result.success ? result.data.mcpServers : dependsOnOf(expanded)));
  if (issues.length > 0 || !result.success) throw new ConfigError(source, issues);
  return resolveConfig(result.data);
}

function resolveConfig(config: ParsedConfig): SupervisorConfig {
  return {
    maxConcurrentReconnects: config.supervisor.maxConcurrentReconnects,
    token: config.supervisor.token,
    servers: Object.entries(config.mcpServers).map(([id, entry]) => ({
      id,
      target: targetOf(entry),
      priority: entry.priority,
      dependsOn: entry.dependsOn,
      required: entry.required,
      disabled: entry.disabled,
      settings: resolveSettings(config.supervisor.health, entry.health),
    })),
  };
}

/**
 * One server entry (as `POST /actors` receives it) turned into a definition, with the running
 * config's supervisor-wide health settings applied; throws `ConfigError` listing every problem.
 */
export function definitionFromEntry(
  id: string,
  entry: unknown,
  supervisorHealth?: Partial<ConnectionSettings>,
  existingIds: readonly string[] = [],
): ServerDefinition {
  const issues: ConfigIssue[] = [];
  const expanded = expandEnv(entry, process.env, issues, ['mcpServers', id]);
  const idCheck = serverIdSchema.safeParse(id);
  if (!idCheck.success) issues.push({ path: 'id', message: idCheck.error.issues[0]?.message ?? 'invalid id' });
  const result = serverEntrySchema.safeParse(expanded);
  if (!result.success) for (const issue of result.error.issues) issues.push({ path: issue.path.map(String).join('.'), message: issue.message });
  if (result.success) {
    result.data.dependsOn.forEach((dependency, index) => {
      if (!existingIds.includes(dependency)) issues.push({ path: `dependsOn.${index}`, message: `unknown server "${dependency}"` });
    });
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(`for server "${id}"`, issues);
  const data = result.data;
  return {
    id,
    target: targetOf(data),
    priority: data.priority,
    dependsOn: data.dependsOn,
    required: data.required,
    disabled: data.disabled,
    settings: resolveSettings(supervisorHealth, data.health),
  };
}

function targetOf(entry: ServerEntry): ServerTarget {
  const policy = { restart: entry.restart, minUptimeMs: entry.minUptimeMs };
  if (entry.type === 'stdio') return { type: 'stdio', command: entry.command, args: entry.args, env: entry.env, cwd: entry.cwd, ...policy };
  const launch = entry.command === undefined ? undefined : { command: entry.command, args: entry.args ?? [], env: entry.env, cwd: entry.cwd };
  return { type: entry.type, url: entry.url, headers: entry.headers, ...(launch ? { launch } : {}), ...policy };
}

type DependencyGraph = Record<string, { dependsOn: string[] }>;

/** The `dependsOn` lists of a config that failed validation, read leniently. */
function dependsOnOf(raw: unknown): DependencyGraph {
  const servers = typeof raw === 'object' && raw !== null && 'mcpServers' in raw ? raw.mcpServers : undefined;
  if (typeof servers !== 'object' || servers === null) return {};
  return Object.fromEntries(
    Object.entries(servers).map(([id, entry]) => {
      const list = typeof entry === 'object' && entry !== null && 'dependsOn' in entry ? entry.dependsOn : undefined;
      return [id, { dependsOn: Array.isArray(list) ? list.filter((item): item is string => typeof item === 'string') : [] }];
    }),
  );
}

/** Unknown ids and cycles in `dependsOn`: a cycle would leave its members waiting forever. */
function dependencyIssues(servers: DependencyGraph): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [id, entry] of Object.entries(servers)) {
    entry.dependsOn.forEach((dependency, index) => {
      if (!(dependency in servers)) issues.push({ path: `mcpServers.${id}.dependsOn.${index}`, message: `unknown server "${dependency}"` });
      if (dependency === id) issues.push({ path: `mcpServers.${id}.dependsOn.${index}`, message: 'a server cannot depend on itself' });
    });
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const reported = new Set<string>();
  const visit = (id: string, trail: string[]): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(id)), id];
      const key = [...cycle].sort().join(',');
      if (!reported.has(key) && cycle.length > 2) {
        reported.add(key);
        issues.push({ path: `mcpServers.${id}.dependsOn`, message: `dependency cycle: ${cycle.join(' → ')}` });
      }
      return;
    }
    state.set(id, 'visiting');
    for (const dependency of servers[id]?.dependsOn ?? []) if (dependency in servers && dependency !== id) visit(dependency, [...trail, id]);
    state.set(id, 'done');
  };
  for (const id of Object.keys(servers)) visit(id, []);
  return issues;
}
