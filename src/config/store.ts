import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ConnectionSettings } from '../core/settings.js';
import { expandEnv } from './env.js';
import type { ConfigIssue } from './errors.js';
import { configSchema } from './schema.js';

/**
 * The file operations the store uses, injectable so tests can make a write fail half-way.
 * `writeFile` must create `path` exclusively, write all of `data` and flush it to disk before
 * resolving.
 */
export interface StoreFileSystem {
  readFile(path: string): Promise<string>;
  writeFile(path: string, data: string, mode: number | undefined): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Flushes the directory entry (the rename) to disk; a no-op where directories cannot be opened. */
  syncDirectory(path: string): Promise<void>;
  /** The file's permission bits, kept on the replacement; undefined when unknown. */
  mode(path: string): Promise<number | undefined>;
}

export const nodeFileSystem: StoreFileSystem = {
  readFile: (path) => fs.readFile(path, 'utf8'),
  async writeFile(path, data, mode) {
    const handle = await fs.open(path, 'wx', mode ?? 0o600);
    try {
      // open() applies the umask; the replacement must have exactly the original's bits.
      if (mode !== undefined) await handle.chmod(mode);
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  rename: (from, to) => fs.rename(from, to),
  unlink: (path) => fs.unlink(path),
  async syncDirectory(path) {
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(path, 'r');
      await handle.sync();
    } catch {
      // Windows cannot open a directory, some file systems refuse fsync on one: the rename
      // is still atomic, only its durability across a power cut is not guaranteed there.
    } finally {
      await handle?.close().catch(() => undefined);
    }
  },
  async mode(path) {
    try {
      return (await fs.stat(path)).mode & 0o777;
    } catch {
      return undefined;
    }
  },
};

export interface ConfigStoreOptions {
  /** The running config's `supervisor.health`, applied to servers added at run time. */
  supervisorHealth?: Partial<ConnectionSettings>;
  /** Replaces some file operations (tests inject failures). */
  fs?: Partial<StoreFileSystem>;
}

/** The config file changed under us into something we must not overwrite. */
export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
}

/** Where servers registered or removed through the API are written (the config file). */
export interface ConfigPersistence {
  /** Writes the server entry `entry` (as given, placeholders unexpanded) under `mcpServers[id]`. */
  add(id: string, entry: Record<string, unknown>): Promise<void>;
  /** Deletes `mcpServers[id]` from the file. */
  remove(id: string): Promise<void>;
  /** The config's supervisor-wide health settings, applied to servers added at run time. */
  supervisorHealth(): Partial<ConnectionSettings> | undefined;
}

/**
 * Writes servers registered or removed at run time back to the config file. Every change re-reads
 * the file, touches only `mcpServers[id]` (every other key, unknown top-level fields and `${VAR}`
 * placeholders stay as they are) and replaces the file atomically: a uniquely named temp file in
 * the same directory is written and fsynced, renamed over the original, then the directory is
 * fsynced. A crash at any point leaves either the old file or the new one, never a mix. Changes
 * are applied one at a time, in call order, so concurrent requests never lose each other's edits.
 *
 * @example
 * ```ts
 * const store = await ConfigStore.open('mcp.json');
 * await store.add('files', { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '.'] });
 * ```
 */
export class ConfigStore implements ConfigPersistence {
  readonly path: string;
  private readonly fs: StoreFileSystem;
  private readonly health: Partial<ConnectionSettings> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(path: string, options: ConfigStoreOptions = {}) {
    this.path = path;
    this.fs = { ...nodeFileSystem, ...options.fs };
    this.health = options.supervisorHealth;
  }

  /** A store for `path` that knows the file's current `supervisor.health` settings. */
  static async open(path: string, options: Omit<ConfigStoreOptions, 'supervisorHealth'> & { env?: Record<string, string | undefined> } = {}): Promise<ConfigStore> {
    const fileSystem = { ...nodeFileSystem, ...options.fs };
    const raw = JSON.parse(await fileSystem.readFile(path)) as unknown;
    return new ConfigStore(path, { ...options, supervisorHealth: supervisorHealthOf(raw, options.env ?? process.env) });
  }

  supervisorHealth(): Partial<ConnectionSettings> | undefined {
    return this.health;
  }

  /** Writes `entry` as given (placeholders unexpanded) under `mcpServers[id]`, replacing any entry there. */
  add(id: string, entry: Record<string, unknown>): Promise<void> {
    return this.update((servers) => {
      servers[id] = entry;
      return true;
    });
  }

  /** Deletes `mcpServers[id]`; nothing is written when the file has no such entry. */
  remove(id: string): Promise<void> {
    return this.update((servers) => {
      if (!Object.hasOwn(servers, id)) return false;
      delete servers[id];
      return true;
    });
  }

  private update(change: (servers: Record<string, unknown>) => boolean): Promise<void> {
    const run = this.queue.then(() => this.apply(change));
    // The chain survives a failed write; the caller still sees the failure.
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async apply(change: (servers: Record<string, unknown>) => boolean): Promise<void> {
    const text = await this.fs.readFile(this.path);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new ConfigFileError(`config file ${this.path} is no longer valid JSON, not overwriting it: ${(error as Error).message}`);
    }
    if (!isRecord(document)) throw new ConfigFileError(`config file ${this.path} is not a JSON object, not overwriting it`);
    const servers = document.mcpServers ?? {};
    if (!isRecord(servers)) throw new ConfigFileError(`"mcpServers" in ${this.path} is not an object, not overwriting it`);
    if (!change(servers)) return;
    document.mcpServers = servers;
    await this.replace(`${JSON.stringify(document, null, indentOf(text))}\n`);
  }

  private async replace(data: string): Promise<void> {
    // A symlinked config (dotfiles) stays a symlink: the file it points to is replaced.
    const target = await fs.realpath(this.path).catch(() => this.path);
    const directory = dirname(target);
    const temp = join(directory, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const mode = await this.fs.mode(target);
    try {
      await this.fs.writeFile(temp, data, mode);
      await this.fs.rename(temp, target);
    } catch (error) {
      await this.fs.unlink(temp).catch(() => undefined);
      throw error;
    }
    await this.fs.syncDirectory(directory);
  }
}

/** The indentation the file already uses (two spaces when it has none to copy). */
function indentOf(text: string): string | number {
  const match = /^\{\r?\n([ \t]+)\S/.exec(text);
  return match?.[1] ?? 2;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `supervisor.health` of a raw config, as the config schema validates it (undefined if invalid). */
function supervisorHealthOf(raw: unknown, env: Record<string, string | undefined>): Partial<ConnectionSettings> | undefined {
  if (!isRecord(raw)) return undefined;
  const issues: ConfigIssue[] = [];
  const result = configSchema.shape.supervisor.safeParse(expandEnv(raw.supervisor, env, issues, ['supervisor']));
  return result.success ? result.data.health : undefined;
}
