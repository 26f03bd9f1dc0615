import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { ConnectionSettings } from '../core/settings.js';
import { expandEnv } from './env.js';
import type { ConfigIssue } from './errors.js';
import { supervisorSchema } from './schema.js';

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
  /** Creates `path` holding `data`, failing with `EEXIST` when it exists (the lock file). */
  createExclusive(path: string, data: string): Promise<void>;
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
  createExclusive: (path, data) => fs.writeFile(path, data, { flag: 'wx', mode: 0o600 }),
};

/** How long a write waits for another writer's lock before giving up. */
const LOCK_WAIT_MS = 10_000;
/** A lock older than this is left over from a crash: no write takes that long. */
const LOCK_STALE_MS = 30_000;

export interface ConfigStoreOptions {
  /** The running config's `supervisor.health`, applied to servers added at run time. */
  supervisorHealth?: Partial<ConnectionSettings>;
  /**
   * The text of the file the running fleet was loaded from. A write first checks that the file
   * still holds it (or what this store wrote last) and refuses with `ConfigConflictError` when
   * another process or an editor changed it. Without it, the first write takes the file as found.
   */
  baseline?: string;
  /** Replaces some file operations (tests inject failures). */
  fs?: Partial<StoreFileSystem>;
}

/** The config file changed under us into something we must not overwrite (no longer JSON, say). */
export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
}

/**
 * The config file changed on disk since this store last read or wrote it (another service on
 * the same file, an editor): writing now would lose that change or leave the running fleet and
 * the file disagreeing, so nothing is written.
 */
export class ConfigConflictError extends Error {
  override readonly name = 'ConfigConflictError';
  constructor(
    readonly path: string,
    message = `config file ${path} changed on disk since this service last read or wrote it (another process or an editor wrote it); not overwriting it: restart the service to load the file as it is now, then retry`,
  ) {
    super(message);
  }
}

/** Writing the config file failed (permissions, a full disk, a read-only file system, a held lock): nothing was changed. */
export class PersistenceError extends Error {
  override readonly name = 'PersistenceError';
  /** The error code of the failed operation (`EACCES`, `EROFS`, `ENOSPC`, `ELOCKED`…), when there is one. */
  readonly errno: string | undefined;
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(`cannot write config file ${path}: ${(cause as Error | undefined)?.message ?? String(cause)}`, { cause });
    this.errno = code;
  }
}

/** Where servers registered or removed through the API are written (the config file). */
export interface ConfigPersistence {
  /** Writes the server entry `entry` (as given, placeholders unexpanded) under `mcpServers[id]`. */
  add(id: string, entry: Record<string, unknown>): Promise<void>;
  /** Deletes `mcpServers[id]` from the file. */
  remove(id: string): Promise<void>;
  /**
   * Removes `disabled` from `mcpServers[id]`, so the server starts with the service from now on.
   * Without it, `POST /actors/:id/start` on a disabled server is refused (nothing could persist it).
   */
  enable?(id: string): Promise<void>;
  /** The config's supervisor-wide health settings, applied to servers added at run time. */
  supervisorHealth(): Partial<ConnectionSettings> | undefined;
  /** The config file: a relative `envFile` in an entry added at run time starts at its directory. */
  readonly path?: string;
}

/**
 * Writes servers registered or removed at run time back to the config file. Every change re-reads
 * the file, touches only `mcpServers[id]` (or `servers[id]` in VS Code's format; every other key,
 * unknown top-level fields and `${VAR}` placeholders stay as they are) and replaces the file
 * atomically: a uniquely named temp file in the same directory is written and fsynced, renamed
 * over the original, then the directory is fsynced. A crash at any point leaves either the old
 * file or the new one, never a mix.
 *
 * Changes are applied one at a time, in call order. Across processes, a lock file next to the
 * config (`.<name>.lock`, created exclusively, removed after the write) serializes writers, and a
 * compare-and-swap on the file's content hash detects every change made since this store last
 * read or wrote the file: such a write fails with `ConfigConflictError` instead of silently
 * merging or losing another writer's edits. A failed write is a `PersistenceError` naming the
 * path and the error code; nothing is changed then.
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
  /** Hash of the content this store last read or wrote; undefined until it has seen the file. */
  private seen: string | undefined;

  constructor(path: string, options: ConfigStoreOptions = {}) {
    this.path = path;
    this.fs = { ...nodeFileSystem, ...options.fs };
    this.health = options.supervisorHealth;
    this.seen = options.baseline === undefined ? undefined : contentHash(options.baseline);
  }

  /**
   * A store for `path` that knows the file's current `supervisor.health` settings and guards
   * against changes made after this point (or after `baseline`, the text the fleet was loaded from).
   */
  static async open(
    path: string,
    options: Omit<ConfigStoreOptions, 'supervisorHealth'> & { env?: Record<string, string | undefined> } = {},
  ): Promise<ConfigStore> {
    const fileSystem = { ...nodeFileSystem, ...options.fs };
    const text = options.baseline ?? (await fileSystem.readFile(path));
    const raw = JSON.parse(text) as unknown;
    return new ConfigStore(path, { ...options, baseline: text, supervisorHealth: supervisorHealthOf(raw, options.env ?? process.env) });
  }

  supervisorHealth(): Partial<ConnectionSettings> | undefined {
    return this.health;
  }

  /** Writes `entry` as given (placeholders unexpanded) under `mcpServers[id]`, replacing any entry there. */
  add(id: string, entry: Record<string, unknown>): Promise<void> {
    return this.update((servers) => {
      // defineProperty, not assignment: `__proto__` is an id like any other.
      Object.defineProperty(servers, id, { value: entry, enumerable: true, writable: true, configurable: true });
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

  /** Deletes `disabled` from `mcpServers[id]`; `ConfigConflictError` when the file has no such entry. */
  enable(id: string): Promise<void> {
    return this.update((servers) => {
      const entry = Object.hasOwn(servers, id) ? servers[id] : undefined;
      if (entry === undefined) throw new ConfigConflictError(this.path, `config file ${this.path} has no server "${id}" any more; not writing it: restart the service to load the file as it is now`);
      if (!isRecord(entry)) throw new ConfigFileError(`server "${id}" in ${this.path} is not an object, not overwriting it`);
      if (!Object.hasOwn(entry, 'disabled')) return false;
      delete entry.disabled;
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
    // A symlinked config (dotfiles) stays a symlink: the file it points to is locked and replaced.
    const target = await fs.realpath(this.path).catch(() => this.path);
    const unlock = await this.persisting(() => this.lock(target));
    try {
      const text = await this.persisting(() => this.fs.readFile(this.path));
      const hash = contentHash(text);
      if (this.seen !== undefined && hash !== this.seen) throw new ConfigConflictError(this.path);
      this.seen = hash;
      let document: unknown;
      try {
        document = JSON.parse(text);
      } catch (error) {
        throw new ConfigFileError(`config file ${this.path} is no longer valid JSON, not overwriting it: ${(error as Error).message}`);
      }
      if (!isRecord(document)) throw new ConfigFileError(`config file ${this.path} is not a JSON object, not overwriting it`);
      // VS Code's format keeps its servers under "servers".
      const key = !Object.hasOwn(document, 'mcpServers') && Object.hasOwn(document, 'servers') ? 'servers' : 'mcpServers';
      const servers = document[key] ?? {};
      if (!isRecord(servers)) throw new ConfigFileError(`"${key}" in ${this.path} is not an object, not overwriting it`);
      if (!change(servers)) return;
      document[key] = servers;
      const data = `${JSON.stringify(document, null, indentOf(text))}\n`;
      await this.persisting(() => this.replace(target, data));
      this.seen = contentHash(data);
    } finally {
      await unlock();
    }
  }

  /** Runs a file operation; its failure becomes a `PersistenceError` naming the config file. */
  private async persisting<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof PersistenceError) throw error;
      throw new PersistenceError(this.path, error);
    }
  }

  /**
   * Takes the lock file next to `target`, waiting while another live writer holds it, and
   * resolves with its release. A lock whose writer died (same host, no such process) or that is
   * older than any write takes is removed.
   */
  private async lock(target: string): Promise<() => Promise<void>> {
    const lockPath = join(dirname(target), `.${basename(target)}.lock`);
    const token = `${process.pid} ${hostname()} ${Date.now()} ${randomBytes(6).toString('hex')}`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.fs.createExclusive(lockPath, token);
        return async () => {
          const holder = await this.fs.readFile(lockPath).catch(() => undefined);
          if (holder === token) await this.fs.unlink(lockPath).catch(() => undefined);
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await this.fs.readFile(lockPath).catch(() => undefined);
      if (holder !== undefined && isStaleLock(holder)) {
        await this.fs.unlink(lockPath).catch(() => undefined);
        continue;
      }
      if (Date.now() >= deadline) {
        throw new PersistenceError(
          this.path,
          Object.assign(new Error(`locked by another writer for ${LOCK_WAIT_MS} ms (${lockPath}: ${holder ?? 'gone'}); delete that file if no mcp-supervisor is writing this config`), {
            code: 'ELOCKED',
          }),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 ** attempt)));
    }
  }

  private async replace(target: string, data: string): Promise<void> {
    const directory = dirname(target);
    const temp = join(directory, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const mode = await this.fs.mode(target);
    // A config without any write bit was made read-only on purpose: respected even by root.
    if (mode !== undefined && (mode & 0o222) === 0) {
      throw Object.assign(new Error(`EACCES: the file is read-only (mode ${mode.toString(8).padStart(3, '0')})`), { code: 'EACCES' });
    }
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

function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `<pid> <host> <epoch ms> <nonce>`: stale when that process is gone from this host, or too old. */
function isStaleLock(holder: string): boolean {
  const [pid, host, at] = holder.split(' ');
  if (Number.isFinite(Number(at)) && Date.now() - Number(at) > LOCK_STALE_MS) return true;
  if (host !== hostname() || !/^\d+$/.test(pid ?? '')) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
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
  const result = supervisorSchema.safeParse(expandEnv(raw.supervisor, env, issues, ['supervisor']));
  return result.success ? result.data.health : undefined;
}
