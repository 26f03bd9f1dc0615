import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import type { ServerTarget } from '../core/target.js';
import type { EraPreference } from '../core/session.js';
import { resolveSettings } from '../core/settings.js';
import { recordingEnv, withProvenance, writtenTargetOf } from '../core/secrets.js';
import type { TargetProvenance } from '../core/secrets.js';
import type { ConnectionSettings } from '../core/settings.js';
import { expandEnv } from './env.js';
import { readEnvFile } from './env-file.js';
import { ConfigError } from './errors.js';
import type { ConfigIssue } from './errors.js';
import {
  HEALTH_KEYS,
  IGNORED_SERVER_KEYS,
  SERVER_ID_RULE,
  SERVER_KEYS,
  SUPERVISOR_KEYS,
  TOP_LEVEL_KEYS,
  TRANSPORT_SPELLINGS,
  serverEntrySchema,
  serverIdSchema,
  supervisorSchema,
} from './schema.js';
import type { ServerEntry } from './schema.js';
import { closest, unknownKeyMessage } from './suggest.js';

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
  /** Deadline of a tool call that sets none (ms), from the entry's `timeout`; the MCP SDK's 60 000 when unset. */
  callTimeoutMs?: number;
}

/** Keys of other clients' formats that a config carries and the supervisor does not use. */
export interface IgnoredKeys {
  /** Where they are: `mcpServers.<id>` (or `servers.<id>`), or `''` for the top level. */
  path: string;
  /** The server's id; absent for top-level keys such as VS Code's `inputs`. */
  server?: string;
  /** The keys ignored there, e.g. `['autoApprove', 'description']`. */
  keys: string[];
}

/** A validated config: the supervisor-wide settings and every server, ready to supervise. */
export interface SupervisorConfig {
  /** At most this many connections in `connecting` at once; default 4. */
  maxConcurrentReconnects: number;
  /** The HTTP API's bearer token, if the config sets one. */
  token?: string;
  /** `supervisor.tokens`: several API tokens, each with a role. */
  tokens?: TokenConfig[];
  /** `supervisor.logs`: server output in files. */
  logs?: LogFilesConfig;
  /** `supervisor.audit`: the audit trail's file. */
  audit?: AuditConfig;
  /** `supervisor.cluster`: cluster mode, if the config asks for it (docs/cluster.md). */
  cluster?: ClusterConfig;
  /** Every server of the config, in config order (disabled ones included). */
  servers: ServerDefinition[];
  /** Keys accepted from other clients' formats and ignored, one entry per server (for one info log line each). */
  ignored?: IgnoredKeys[];
  /** What loads but is probably not what was meant (e.g. a `timeout` that looks like seconds). */
  warnings?: ConfigIssue[];
}

/** Environment variables for `${VAR}` expansion in a config, by name (`process.env` by default). */
export type Env = Readonly<Record<string, string | undefined>>;

/** Where a config's relative paths (`envFile`, `${workspaceFolder}`) start. */
export interface ParseConfigOptions {
  /** The config file's directory; default the working directory. */
  baseDir?: string;
}

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
  return parseConfigText(await readConfigText(path), path, env);
}

/** The text of a config file; an unreadable file is a `ConfigError`. */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [{ path: '', message: `cannot read file: ${(error as Error).message}` }]);
  }
}

/** Parses and validates the text of the config file at `path` (relative paths in it start at its directory). */
export function parseConfigText(text: string, path: string, env: Env = process.env): SupervisorConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(path, [{ path: '', message: `not valid JSON: ${(error as Error).message}` }]);
  }
  return parseConfig(raw, env, path, { baseDir: dirname(resolve(path)) });
}

/**
 * Validates a config object and lists every problem by path; throws `ConfigError`. Accepts
 * what Claude Desktop, Cursor, Cline and VS Code write: `servers` for `mcpServers`, their
 * transport spellings, `timeout`, `envFile`, `disabled`, and ignores `autoApprove`,
 * `alwaysAllow`, `description` and VS Code's `inputs` (returned in `ignored`).
 */
export function parseConfig(raw: unknown, env: Env = process.env, source = '(inline)', options: ParseConfigOptions = {}): SupervisorConfig {
  if (!isRecord(raw)) {
    throw new ConfigError(source, [{ path: '', message: 'a config is a JSON object with the servers under "mcpServers" (or "servers", as in VS Code)' }]);
  }
  const context = new ParseContext(env, options.baseDir ?? process.cwd());
  const { issues } = context;
  const ignored: IgnoredKeys[] = [];
  for (const key of Object.keys(raw)) if (!TOP_LEVEL_KEYS.includes(key)) issues.push({ path: key, message: unknownKeyMessage(key, TOP_LEVEL_KEYS) });
  if (Object.hasOwn(raw, 'inputs')) ignored.push({ path: '', keys: ['inputs'] });
  if (Object.hasOwn(raw, '$schema') && typeof raw.$schema !== 'string') issues.push({ path: '$schema', message: 'must be a string' });

  const hasMcpServers = Object.hasOwn(raw, 'mcpServers');
  const hasServers = Object.hasOwn(raw, 'servers');
  if (hasMcpServers && hasServers) {
    issues.push({ path: '', message: 'both "mcpServers" and "servers" are set: keep one ("servers" is VS Code\'s name for "mcpServers")' });
  } else if (!hasMcpServers && !hasServers) {
    issues.push({ path: 'mcpServers', message: 'missing: the servers go under "mcpServers" (or "servers", as in VS Code\'s mcp.json)' });
  }
  const serversKey = hasMcpServers ? 'mcpServers' : 'servers';

  const supervisor = supervisorSchema.safeParse(expandEnv(raw.supervisor, env, issues, ['supervisor'], context.predefined));
  if (!supervisor.success) context.addSchemaIssues(supervisor.error.issues, ['supervisor'], SUPERVISOR_KEYS);

  const rawServers = raw[serversKey];
  if (rawServers !== undefined && !isRecord(rawServers)) issues.push({ path: serversKey, message: 'must be an object of server entries by id' });
  const entries = new Map<string, ServerEntry>();
  const provenances = new Map<string, TargetProvenance>();
  const graph = new Map<string, string[]>();
  for (const [id, value] of Object.entries(isRecord(rawServers) ? rawServers : {})) {
    if (!serverIdSchema.safeParse(id).success) issues.push({ path: `${serversKey}.${id}`, message: `invalid id "${id}": ${SERVER_ID_RULE}` });
    const result = context.parseEntry(value, [serversKey, id]);
    if (result.ignoredKeys.length > 0) ignored.push({ path: `${serversKey}.${id}`, server: id, keys: result.ignoredKeys });
    graph.set(id, result.entry?.dependsOn ?? lenientDependsOn(value));
    if (result.entry) entries.set(id, result.entry);
    if (result.provenance) provenances.set(id, result.provenance);
  }
  // Dependencies are checked even when other fields are wrong, so one run lists every problem.
  issues.push(...dependencyIssues(graph, serversKey));
  for (const [id, entry] of entries) {
    entry.dependsOn.forEach((dependency, index) => {
      if (entries.get(dependency)?.disabled && !entry.disabled) {
        context.warnings.push({ path: `${serversKey}.${id}.dependsOn.${index}`, message: `"${dependency}" is disabled: "${id}" waits until it is started` });
      }
    });
  }
  if (supervisor.success) issues.push(...singleTokenIssues(supervisor.data.token, supervisor.data.tokens));
  if (issues.length > 0 || !supervisor.success) throw new ConfigError(source, issues);
  return {
    maxConcurrentReconnects: supervisor.data.maxConcurrentReconnects,
    token: supervisor.data.token,
    ...(supervisor.data.tokens ? { tokens: supervisor.data.tokens } : {}),
    ...(supervisor.data.logs ? { logs: supervisor.data.logs } : {}),
    ...(supervisor.data.audit ? { audit: supervisor.data.audit } : {}),
    ...(supervisor.data.cluster ? { cluster: supervisor.data.cluster } : {}),
    servers: [...entries].map(([id, entry]) => definitionOf(id, entry, supervisor.data.health, provenances.get(id), supervisor.data.era)),
    ignored,
    warnings: context.warnings,
  };
}

/** A role of docs/operations.md, weakest first: `viewer` reads, `operator` also commands and calls tools, `admin` also registers and removes servers. */
export type Role = 'viewer' | 'operator' | 'admin';

/** One API token of `supervisor.tokens`: exactly one of `token` and `sha256` is set. */
export interface TokenConfig {
  /** Who holds it, as the audit trail names them. */
  name: string;
  /** What it may do. */
  role: Role;
  /** The token in clear. */
  token?: string;
  /** The token's sha256 in hex. */
  sha256?: string;
}

/** `supervisor.logs`: server output kept in files; every field has a default. */
export interface LogFilesConfig {
  /** False keeps only the in-memory ring; default true. */
  enabled?: boolean;
  /** Relative to the config file's directory; default `logs`. */
  dir?: string;
  /** A file is rotated at this size (bytes); default 10 MiB. */
  maxSizeBytes?: number;
  /** Files older than this are deleted (days); default 14. */
  maxAgeDays?: number;
  /** At most this many rotated files per server; default 20. */
  maxFiles?: number;
}

/** `supervisor.audit`: the audit trail's file; every field has a default. */
export interface AuditConfig {
  /** False keeps only the in-memory ring; default true. */
  enabled?: boolean;
  /** Relative to the config file's directory; default `audit/audit.log`. */
  file?: string;
  /** Rotated at this size (bytes); default 10 MiB. */
  maxSizeBytes?: number;
  /** Rotated files kept; default 20. */
  maxFiles?: number;
}

/**
 * `supervisor.token` is an admin token named "default" beside `supervisor.tokens`: the same token
 * in both would be two roles for one secret, and a `tokens` entry named "default" two holders of one name.
 */
export function singleTokenIssues(token: string | undefined, tokens: readonly TokenConfig[] | undefined, path = 'supervisor.token'): ConfigIssue[] {
  if (token === undefined || tokens === undefined) return [];
  const digest = createHash('sha256').update(token).digest('hex');
  const issues: ConfigIssue[] = [];
  tokens.forEach((entry, index) => {
    const other = entry.sha256?.toLowerCase() ?? (entry.token === undefined ? undefined : createHash('sha256').update(entry.token).digest('hex'));
    if (other === digest) issues.push({ path, message: `the same token as supervisor.tokens.${index} ("${entry.name}", ${entry.role}): give each token one role` });
    if (entry.name === 'default') issues.push({ path: `supervisor.tokens.${index}.name`, message: '"default" is the name of the single token (supervisor.token, --token): pick another' });
  });
  return issues;
}

/** Cluster mode as a config's `supervisor.cluster` gives it. */
export interface ClusterConfig {
  /** etcd client URLs. */
  etcd: string[];
  /** This instance's name; default `<hostname>-<pid>`. */
  instance?: string;
  /** Its lease (seconds); default 10. */
  leaseTtlSeconds?: number;
  /** Key prefix; default `/mcp-supervisor/`. */
  prefix?: string;
  /** Where the other instances reach this one's API. */
  advertiseUrl?: string;
  /** Also register the config's `mcpServers` in etcd at start. */
  seedServers?: boolean;
}

/** How one server entry is read (cluster mode reads its registry entries so); every field has a default. */
export interface EntryOptions {
  /** The running config's `supervisor.health`, applied to the new server. */
  supervisorHealth?: Partial<ConnectionSettings>;
  /** Ids a `dependsOn` may name. */
  existingIds?: Iterable<string>;
  /** Where a relative `envFile` starts (the config file's directory); default the working directory. */
  baseDir?: string;
  /** For `${VAR}` expansion; default `process.env`. */
  env?: Env;
}

/**
 * One server entry (as `POST /actors` receives it) turned into a definition, with the running
 * config's supervisor-wide health settings applied; throws `ConfigError` listing every problem,
 * each at its path in the entry (`id` for the id).
 */
export function definitionFromEntry(id: string, entry: unknown, options: EntryOptions = {}): ServerDefinition {
  const context = new ParseContext(options.env ?? process.env, options.baseDir ?? process.cwd());
  const { issues } = context;
  if (!serverIdSchema.safeParse(id).success) issues.push({ path: 'id', message: `invalid id "${id}": ${SERVER_ID_RULE}` });
  const result = context.parseEntry(entry, []);
  if (result.entry) {
    const existing = new Set(options.existingIds ?? []);
    result.entry.dependsOn.forEach((dependency, index) => {
      if (!existing.has(dependency)) issues.push({ path: `dependsOn.${index}`, message: `unknown server "${dependency}"` });
    });
  }
  if (issues.length > 0 || !result.entry) throw new ConfigError(`for server "${id}"`, issues);
  return definitionOf(id, result.entry, options.supervisorHealth, result.provenance);
}

function definitionOf(
  id: string,
  entry: ServerEntry,
  supervisorHealth: Partial<ConnectionSettings> | undefined,
  provenance: TargetProvenance = { secrets: [] },
  defaultEra?: EraPreference,
): ServerDefinition {
  return {
    id,
    // Its secrets (${VAR} values) and written form go with the target: src/core/secrets.ts.
    target: withProvenance(targetOf(entry, defaultEra), provenance),
    priority: entry.priority,
    dependsOn: entry.dependsOn,
    required: entry.required,
    disabled: entry.disabled,
    settings: resolveSettings(supervisorHealth, entry.health),
    ...(entry.timeout === undefined ? {} : { callTimeoutMs: entry.timeout }),
  };
}

function targetOf(entry: ServerEntry, defaultEra?: EraPreference): ServerTarget {
  const era = entry.era ?? defaultEra;
  const policy = { restart: entry.restart, minUptimeMs: entry.minUptimeMs, ...(entry.limits ? { limits: entry.limits } : {}), ...(era ? { era } : {}) };
  if (entry.type === 'stdio') return { type: 'stdio', command: entry.command, args: entry.args, env: entry.env, cwd: entry.cwd, ...policy };
  const launch = entry.command === undefined ? undefined : { command: entry.command, args: entry.args ?? [], env: entry.env, cwd: entry.cwd };
  return { type: entry.type, url: entry.url, headers: entry.headers, ...(launch ? { launch } : {}), ...policy };
}

/** What one parse collects, and the per-entry validation shared by config files and `POST /actors`. */
class ParseContext {
  readonly issues: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];
  /** VS Code's predefined variables that make sense outside VS Code. */
  readonly predefined: Readonly<Record<string, string>>;
  private readonly envFiles = new Map<string, { values: Map<string, string> } | { error: string }>();

  constructor(
    private readonly env: Env,
    private readonly baseDir: string,
  ) {
    // `.vscode/mcp.json` lives in the workspace's `.vscode` folder.
    const workspaceFolder = basename(baseDir) === '.vscode' ? dirname(baseDir) : baseDir;
    this.predefined = { workspaceFolder, userHome: homedir() };
  }

  /**
   * Validates one server entry at `path` (`[]` for a `POST /actors` body): ignored keys are set
   * aside, unknown keys are named with a suggestion, placeholders are expanded, the env file is
   * read and merged under `env`. Problems go to `issues`; `entry` is set when there are none.
   */
  parseEntry(raw: unknown, path: string[]): { entry?: ServerEntry; ignoredKeys: string[]; provenance?: TargetProvenance } {
    const at = (...rest: Array<string | number>): string => [...path, ...rest.map(String)].join('.');
    if (!isRecord(raw)) {
      this.issues.push({ path: at(), message: 'a server entry is an object, e.g. {"command": "npx", "args": ["-y", "some-mcp-server"]}' });
      return { ignoredKeys: [] };
    }
    const before = this.issues.length;
    const kept: Record<string, unknown> = {};
    const ignoredKeys: string[] = [];
    let unknownKeys = 0;
    for (const [key, value] of Object.entries(raw)) {
      if (IGNORED_SERVER_KEYS.has(key)) ignoredKeys.push(key);
      else if (SERVER_KEYS.includes(key)) kept[key] = value;
      else {
        unknownKeys += 1;
        this.issues.push({ path: at(key), message: unknownKeyMessage(key, SERVER_KEYS) });
      }
    }
    if (typeof kept.type === 'string' && !TRANSPORT_SPELLINGS.has(kept.type)) {
      const suggestion = closest(kept.type, TRANSPORT_SPELLINGS.keys());
      this.issues.push({
        path: at('type'),
        message: `unknown transport type '${kept.type}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}: use stdio, sse, http or streamable-http`,
      });
      return { ignoredKeys };
    }
    // The values expansion takes from the environment are secrets (src/core/secrets.ts).
    const read: string[] = [];
    const expanded = expandEnv(kept, recordingEnv(this.env, read), this.issues, path, this.predefined);
    const result = serverEntrySchema.safeParse(expanded);
    if (!result.success) {
      // With a misspelled key, "needs either command or url" would only repeat it less clearly.
      const issues = unknownKeys > 0 ? result.error.issues.filter((issue) => !(issue.code === 'invalid_union' && issue.path.join('.') === 'type')) : result.error.issues;
      const type = TRANSPORT_SPELLINGS.get(String(kept.type)) ?? ('url' in kept ? 'streamable-http' : 'stdio');
      this.addSchemaIssues(issues, path, SERVER_KEYS, type);
      return { ignoredKeys };
    }
    const entry = result.data;
    if (entry.timeout !== undefined && entry.timeout < 1_000) {
      this.warnings.push({
        path: at('timeout'),
        message: `timeout is in milliseconds: ${entry.timeout} ms is probably meant as seconds (Cline and Roo Code write seconds); write ${entry.timeout * 1_000}`,
      });
    }
    // Limits restart a process the supervisor started; of a remote server there is none to restart.
    if (entry.limits !== undefined && entry.type !== 'stdio' && entry.command === undefined) {
      this.issues.push({
        path: at('limits'),
        message: 'limits apply to a server process the supervisor starts (a stdio server, or an HTTP server with a command); this server is only a URL',
      });
    }
    if (entry.envFile !== undefined) {
      const fromFile = this.envFile(entry.envFile, at('envFile'));
      if (fromFile) entry.env = { ...Object.fromEntries(fromFile), ...entry.env };
    }
    return this.issues.length > before ? { ignoredKeys } : { entry, ignoredKeys, provenance: { secrets: read, written: writtenTargetOf(kept) } };
  }

  /** Zod issues under `path`; an unrecognized key is named on its own, with a suggestion. */
  addSchemaIssues(issues: ReadonlyArray<{ code: string; path: PropertyKey[]; message: string; keys?: string[] }>, path: string[], known: readonly string[], type = ''): void {
    for (const issue of issues) {
      const where = [...path, ...issue.path.map(String)];
      if (issue.code !== 'unrecognized_keys' || !issue.keys) {
        this.issues.push({ path: where.join('.'), message: issue.message });
        continue;
      }
      const keys = issue.path.at(-1) === 'health' ? HEALTH_KEYS : known;
      for (const key of issue.keys) {
        const message = keys.includes(key) ? `'${key}' does not apply to a ${type} server` : unknownKeyMessage(key, keys);
        this.issues.push({ path: [...where, key].join('.'), message });
      }
    }
  }

  /** The values of an env file (relative to the config file), or undefined after adding the issue. */
  private envFile(file: string, path: string): Map<string, string> | undefined {
    const absolute = resolve(this.baseDir, file);
    let loaded = this.envFiles.get(absolute);
    if (!loaded) {
      try {
        const { values, problems } = readEnvFile(absolute);
        loaded = problems.length > 0 ? { error: problems.map((problem) => `${absolute}:${problem.line}: ${problem.message}`).join('; ') } : { values };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        loaded = { error: `cannot read env file ${absolute}${code ? `: ${code}` : ''}` };
      }
      this.envFiles.set(absolute, loaded);
    }
    if ('error' in loaded) {
      this.issues.push({ path, message: loaded.error });
      return undefined;
    }
    return loaded.values;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `dependsOn` list of an entry that failed validation, read leniently. */
function lenientDependsOn(entry: unknown): string[] {
  const list = isRecord(entry) ? entry.dependsOn : undefined;
  return Array.isArray(list) ? list.filter((item): item is string => typeof item === 'string') : [];
}

/** Unknown ids and cycles in `dependsOn`: a cycle would leave its members waiting forever. */
function dependencyIssues(servers: ReadonlyMap<string, string[]>, serversKey: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [id, dependsOn] of servers) {
    dependsOn.forEach((dependency, index) => {
      if (!servers.has(dependency)) issues.push({ path: `${serversKey}.${id}.dependsOn.${index}`, message: `unknown server "${dependency}"` });
      if (dependency === id) issues.push({ path: `${serversKey}.${id}.dependsOn.${index}`, message: 'a server cannot depend on itself' });
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
        issues.push({ path: `${serversKey}.${id}.dependsOn`, message: `dependency cycle: ${cycle.join(' → ')}` });
      }
      return;
    }
    state.set(id, 'visiting');
    for (const dependency of servers.get(id) ?? []) if (servers.has(dependency) && dependency !== id) visit(dependency, [...trail, id]);
    state.set(id, 'done');
  };
  for (const id of servers.keys()) visit(id, []);
  return issues;
}
