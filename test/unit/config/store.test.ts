import { spawn } from 'node:child_process';
import { mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/load.js';
import { ConfigConflictError, ConfigFileError, ConfigStore, nodeFileSystem, PersistenceError } from '../../../src/config/store.js';
import { waitForNoDescendants } from '../../support/processes.js';

const storeModule = pathToFileURL(fileURLToPath(new URL('../../../src/config/store.ts', import.meta.url))).href;

const ORIGINAL = {
  $schema: 'https://example.com/mcp-supervisor.schema.json',
  supervisor: { maxConcurrentReconnects: 2, health: { pingTimeoutMs: 1500, degradedLatencyMs: 300 } },
  mcpServers: {
    files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '.'], priority: 10, env: { API_KEY: '${FILES_KEY}' } },
    remote: { type: 'streamable-http', url: 'http://127.0.0.1:3001/mcp', headers: { Authorization: 'Bearer ${TOKEN}' } },
  },
};

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-config-store-'));
  path = join(dir, 'mcp.json');
  await writeFile(path, `${JSON.stringify(ORIGINAL, null, 2)}\n`);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const readJson = async (file = path): Promise<unknown> => JSON.parse(await readFile(file, 'utf8')) as unknown;

describe('ConfigStore', () => {
  it('add then remove changes only mcpServers[id], keeps every other key, order and ${VAR} placeholders', async () => {
    const store = new ConfigStore(path);
    const entry = { command: 'node', args: ['server.mjs'], env: { SECRET: '${NEW_SECRET}', PLAIN: 'x' }, headers: undefined };
    await store.add('added', entry);

    const afterAdd = (await readJson()) as typeof ORIGINAL & { mcpServers: Record<string, unknown> };
    expect(afterAdd).toEqual({ ...ORIGINAL, mcpServers: { ...ORIGINAL.mcpServers, added: { command: 'node', args: ['server.mjs'], env: { SECRET: '${NEW_SECRET}', PLAIN: 'x' } } } });
    expect(Object.keys(afterAdd)).toEqual(Object.keys(ORIGINAL));
    expect(Object.keys(afterAdd.mcpServers)).toEqual(['files', 'remote', 'added']);
    const text = await readFile(path, 'utf8');
    expect(text).toContain('"${NEW_SECRET}"');
    expect(text).toContain('"Bearer ${TOKEN}"');
    expect(text.endsWith('}\n')).toBe(true);

    // The file still loads, with placeholders expanded only in memory.
    const loaded = await loadConfigFile(path, { FILES_KEY: 'k', TOKEN: 't', NEW_SECRET: 's' });
    expect(loaded.servers.map((server) => server.id)).toEqual(['files', 'remote', 'added']);

    await store.remove('added');
    expect(await readJson()).toEqual(ORIGINAL);
    expect(await readFile(path, 'utf8')).toBe(`${JSON.stringify(ORIGINAL, null, 2)}\n`);
    expect(await readdir(dir)).toEqual(['mcp.json']);
  });

  it('replaces an entry of the same id and leaves the file untouched when removing an id it does not have', async () => {
    const store = new ConfigStore(path);
    await store.add('files', { command: 'other' });
    expect(((await readJson()) as typeof ORIGINAL).mcpServers.files).toEqual({ command: 'other' });
    const before = await readFile(path, 'utf8');
    let writes = 0;
    const counting = new ConfigStore(path, { fs: { writeFile: async (...args) => { writes += 1; return nodeFileSystem.writeFile(...args); } } });
    await counting.remove('no-such-server');
    expect(writes).toBe(0);
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  it('keeps the indentation the file uses and creates mcpServers when it is missing', async () => {
    await writeFile(path, '{\n    "supervisor": {\n        "maxConcurrentReconnects": 1\n    }\n}\n');
    await new ConfigStore(path).add('a', { url: 'http://127.0.0.1:1/mcp' });
    expect(await readFile(path, 'utf8')).toBe(
      '{\n    "supervisor": {\n        "maxConcurrentReconnects": 1\n    },\n    "mcpServers": {\n        "a": {\n            "url": "http://127.0.0.1:1/mcp"\n        }\n    }\n}\n',
    );
  });

  it('serializes concurrent changes so none is lost', async () => {
    const store = new ConfigStore(path);
    const ids = Array.from({ length: 20 }, (_, index) => `server-${index}`);
    await Promise.all([store.add('one', { command: 'a' }), store.add('two', { command: 'b' }), ...ids.map((id) => store.add(id, { command: id }))]);
    const servers = ((await readJson()) as { mcpServers: Record<string, unknown> }).mcpServers;
    expect(Object.keys(servers).sort()).toEqual(['files', 'one', 'remote', 'two', ...ids].sort());
    await Promise.all(ids.map((id) => store.remove(id)));
    expect(Object.keys(((await readJson()) as { mcpServers: Record<string, unknown> }).mcpServers)).toEqual(['files', 'remote', 'one', 'two']);
    expect(await readdir(dir)).toEqual(['mcp.json']);
  });

  it('a crash mid-write never leaves a broken file: the original stays, the temp file is removed, later writes work', async () => {
    const before = await readFile(path, 'utf8');
    const temps: string[] = [];
    const store = new ConfigStore(path, {
      fs: {
        async writeFile(temp, data) {
          temps.push(temp);
          const handle = await open(temp, 'wx');
          await handle.writeFile(data.slice(0, Math.floor(data.length / 2)));
          await handle.close();
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        },
      },
    });
    await expect(store.add('added', { command: 'node' })).rejects.toThrow(/ENOSPC/);
    expect(temps).toHaveLength(1);
    expect(temps[0]!.startsWith(dir)).toBe(true);
    expect(await readFile(path, 'utf8')).toBe(before);
    expect(await readJson()).toEqual(ORIGINAL);
    expect(await readdir(dir)).toEqual(['mcp.json']);

    // The failure does not jam the queue of changes.
    await new ConfigStore(path).add('added', { command: 'node' });
    expect(((await readJson()) as { mcpServers: Record<string, unknown> }).mcpServers.added).toEqual({ command: 'node' });
  });

  it('a failed rename leaves the original and no temp file; the next queued change still runs', async () => {
    let fail = true;
    const store = new ConfigStore(path, {
      fs: {
        async rename(from, to) {
          if (fail) {
            fail = false;
            throw Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' });
          }
          return nodeFileSystem.rename(from, to);
        },
      },
    });
    const [first, second] = await Promise.allSettled([store.add('x', { command: 'x' }), store.add('y', { command: 'y' })]);
    expect(first.status).toBe('rejected');
    expect(second.status).toBe('fulfilled');
    const servers = ((await readJson()) as { mcpServers: Record<string, unknown> }).mcpServers;
    expect(Object.keys(servers)).toEqual(['files', 'remote', 'y']);
    expect(await readdir(dir)).toEqual(['mcp.json']);
  });

  it('refuses to overwrite a file that is no longer valid JSON', async () => {
    await writeFile(path, '{ "mcpServers": { ');
    await expect(new ConfigStore(path).add('a', { command: 'a' })).rejects.toBeInstanceOf(ConfigFileError);
    expect(await readFile(path, 'utf8')).toBe('{ "mcpServers": { ');
  });

  it('keeps the file mode', async () => {
    const { chmod, stat } = await import('node:fs/promises');
    await chmod(path, 0o640);
    await new ConfigStore(path).add('a', { command: 'a' });
    expect((await stat(path)).mode & 0o777).toBe(0o640);
    // Not narrowed by the umask either.
    await chmod(path, 0o666);
    await new ConfigStore(path).add('b', { command: 'b' });
    expect((await stat(path)).mode & 0o777).toBe(0o666);
  });

  it('a symlinked config stays a symlink; the file it points to is replaced', async () => {
    const { lstat, symlink } = await import('node:fs/promises');
    const link = join(dir, 'link.json');
    await symlink(path, link);
    await new ConfigStore(link).add('a', { command: 'a' });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(((await readJson(path)) as { mcpServers: Record<string, unknown> }).mcpServers.a).toEqual({ command: 'a' });
    expect((await readdir(dir)).sort()).toEqual(['link.json', 'mcp.json']);
  });

  it('__proto__, constructor and toString are written, replaced and removed like any id', async () => {
    const store = new ConfigStore(path);
    for (const id of ['__proto__', 'constructor', 'toString']) await store.add(id, { command: id });
    const text = await readFile(path, 'utf8');
    const servers = (JSON.parse(text) as { mcpServers: Record<string, unknown> }).mcpServers;
    expect(Object.keys(servers)).toEqual(['files', 'remote', '__proto__', 'constructor', 'toString']);
    expect(Object.getPrototypeOf(servers)).toBe(Object.prototype);
    await store.add('__proto__', { command: 'again' });
    expect(Object.keys(((await readJson()) as { mcpServers: Record<string, unknown> }).mcpServers)).toEqual(['files', 'remote', '__proto__', 'constructor', 'toString']);
    for (const id of ['__proto__', 'constructor', 'toString']) await store.remove(id);
    expect(await readJson()).toEqual(ORIGINAL);
  });

  it("writes under VS Code's servers when the file uses it", async () => {
    await writeFile(path, JSON.stringify({ inputs: [], servers: { a: { type: 'stdio', command: 'a' } } }, null, 2));
    await new ConfigStore(path).add('b', { type: 'stdio', command: 'b' });
    expect(await readJson()).toEqual({ inputs: [], servers: { a: { type: 'stdio', command: 'a' }, b: { type: 'stdio', command: 'b' } } });
  });

  it('enable() removes disabled from the entry and keeps the rest; a missing entry is a conflict', async () => {
    const store = await ConfigStore.open(path);
    await store.add('off', { command: 'x', disabled: true, autoApprove: [] });
    await store.enable('off');
    expect(((await readJson()) as { mcpServers: Record<string, unknown> }).mcpServers.off).toEqual({ command: 'x', autoApprove: [] });
    await expect(store.enable('nobody')).rejects.toBeInstanceOf(ConfigConflictError);
  });

  describe('compare-and-swap on the file content', () => {
    it('refuses to write a file changed on disk since it was loaded (409 config_conflict), and writes nothing', async () => {
      const loaded = await readFile(path, 'utf8');
      const store = new ConfigStore(path, { baseline: loaded });
      const edited = loaded.replace('"priority": 10', '"priority": 11');
      await writeFile(path, edited);
      const error = await store.add('x', { command: 'x' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConfigConflictError);
      expect((error as Error).message).toMatch(/changed on disk since this service last read or wrote it/);
      expect(await readFile(path, 'utf8')).toBe(edited);
      expect(await readdir(dir)).toEqual(['mcp.json']);
    });

    it('its own writes move the baseline: a store never conflicts with itself', async () => {
      const store = await ConfigStore.open(path);
      await store.add('a', { command: 'a' });
      await store.add('b', { command: 'b' });
      await store.remove('a');
      expect(Object.keys(((await readJson()) as { mcpServers: Record<string, unknown> }).mcpServers)).toEqual(['files', 'remote', 'b']);
    });

    it('two stores on one file registering 50 servers at once: every acknowledged one is in the file, every refused one was a conflict', async () => {
      const [first, second] = await Promise.all([ConfigStore.open(path), ConfigStore.open(path)]);
      const ids = Array.from({ length: 50 }, (_, index) => `server-${index}`);
      const outcomes = await Promise.allSettled(ids.map((id, index) => (index % 2 === 0 ? first! : second!).add(id, { command: id })));
      const acknowledged = ids.filter((_, index) => outcomes[index]?.status === 'fulfilled');
      const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
      const servers = ((await readJson()) as { mcpServers: Record<string, unknown> }).mcpServers;
      expect(Object.keys(servers).sort()).toEqual(['files', 'remote', ...acknowledged].sort());
      expect(acknowledged.length).toBeGreaterThan(0);
      expect(acknowledged.length + refused.length).toBe(50);
      for (const reason of refused) expect(reason).toBeInstanceOf(ConfigConflictError);
      expect(await readdir(dir)).toEqual(['mcp.json']);
    });
  });

  describe('a failed write is a PersistenceError naming the path and the error code, and changes nothing', () => {
    it('injected: the rename fails with EROFS', async () => {
      const before = await readFile(path, 'utf8');
      const store = new ConfigStore(path, {
        fs: {
          rename: async () => {
            throw Object.assign(new Error('EROFS: read-only file system, rename'), { code: 'EROFS' });
          },
        },
      });
      const error = await store.add('x', { command: 'x', env: { KEY: 'sk-secret-value' } }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PersistenceError);
      expect(error).toMatchObject({ path, errno: 'EROFS' });
      expect((error as Error).message).toBe(`cannot write config file ${path}: EROFS: read-only file system, rename`);
      expect((error as Error).message).not.toContain('sk-secret-value');
      expect(await readFile(path, 'utf8')).toBe(before);
      expect(await readdir(dir)).toEqual(['mcp.json']);
    });

    it('a read-only file (no write bit): EACCES, even for root', async () => {
      const { chmod } = await import('node:fs/promises');
      const before = await readFile(path, 'utf8');
      await chmod(path, 0o444);
      const error = await new ConfigStore(path).add('x', { command: 'x' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PersistenceError);
      expect(error).toMatchObject({ path, errno: 'EACCES', message: `cannot write config file ${path}: EACCES: the file is read-only (mode 444)` });
      expect(await readFile(path, 'utf8')).toBe(before);
      expect(await readdir(dir)).toEqual(['mcp.json']);
    });

    // Root writes through a directory's permission bits, so this one needs an ordinary user.
    it.skipIf(process.getuid?.() === 0)('a read-only directory: EACCES', async () => {
      const { chmod } = await import('node:fs/promises');
      const before = await readFile(path, 'utf8');
      await chmod(dir, 0o500);
      try {
        const error = await new ConfigStore(path).add('x', { command: 'x' }).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(PersistenceError);
        expect(error).toMatchObject({ path, errno: 'EACCES' });
      } finally {
        await chmod(dir, 0o700);
      }
      expect(await readFile(path, 'utf8')).toBe(before);
    });
  });

  describe('the lock file', () => {
    const lockPath = () => join(dir, '.mcp.json.lock');

    it('waits for a live writer, then writes', async () => {
      // A lock held by this (live) process, released after the store has tried once.
      await writeFile(lockPath(), `${process.pid} ${(await import('node:os')).hostname()} ${Date.now()} other`);
      let attempts = 0;
      const store = new ConfigStore(path, {
        fs: {
          async createExclusive(file, data) {
            attempts += 1;
            if (attempts === 2) await rm(lockPath());
            return nodeFileSystem.createExclusive(file, data);
          },
        },
      });
      await store.add('a', { command: 'a' });
      expect(attempts).toBe(2);
      expect(await readdir(dir)).toEqual(['mcp.json']);
    });

    it('takes over the lock of a writer that died', async () => {
      await writeFile(lockPath(), `999999999 ${(await import('node:os')).hostname()} ${Date.now()} dead`);
      await new ConfigStore(path).add('a', { command: 'a' });
      expect(Object.keys(((await readJson()) as { mcpServers: Record<string, unknown> }).mcpServers)).toContain('a');
      expect(await readdir(dir)).toEqual(['mcp.json']);
    });
  });

  it('supervisorHealth() is the loaded config supervisor.health', async () => {
    const store = await ConfigStore.open(path);
    expect(store.supervisorHealth()).toEqual({ pingTimeoutMs: 1500, degradedLatencyMs: 300 });
    await writeFile(path, JSON.stringify({ mcpServers: {} }));
    expect((await ConfigStore.open(path)).supervisorHealth()).toBeUndefined();
  });

  describe('a writer process SIGKILLed mid-way leaves the original intact', () => {
    // A config large enough that writing it is not instantaneous (~2 MB).
    const large = {
      ...ORIGINAL,
      mcpServers: Object.fromEntries(
        Array.from({ length: 8_000 }, (_, index) => [`server-${index}`, { command: 'node', args: ['server.mjs', 'x'.repeat(200)], env: { KEY: '${KEY}' } }]),
      ),
    };

    // The child writes through the real store; the injected step announces itself on stdout and
    // then waits on stdin forever, so the test kills it at an exact point of the write.
    const childScript = (pauseAt: 'mid-write' | 'before-rename') => `
      import { open } from 'node:fs/promises';
      import { ConfigStore, nodeFileSystem } from ${JSON.stringify(storeModule)};
      const pause = (what) => new Promise(() => { process.stdout.write(what + '\\n'); process.stdin.resume(); });
      const store = new ConfigStore(process.argv[2], {
        fs: {
          async writeFile(temp, data, mode) {
            if (${JSON.stringify(pauseAt)} !== 'mid-write') return nodeFileSystem.writeFile(temp, data, mode);
            const handle = await open(temp, 'wx');
            await handle.writeFile(data.slice(0, data.length / 2));
            await handle.sync();
            await pause('paused ' + temp);
          },
          async rename(from, to) {
            await pause('paused ' + from);
          },
        },
      });
      await store.add('added', { command: 'node', args: ['new.mjs'] });
    `;

    for (const pauseAt of ['mid-write', 'before-rename'] as const) {
      it(`killed ${pauseAt}`, async () => {
        const original = `${JSON.stringify(large, null, 2)}\n`;
        await writeFile(path, original);
        const script = join(dir, 'writer.mjs');
        await writeFile(script, childScript(pauseAt));
        const child = spawn(process.execPath, ['--import', 'tsx', script, path], { stdio: ['pipe', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
        try {
          const temp = await new Promise<string>((resolve, reject) => {
            let stdout = '';
            const timer = setTimeout(() => reject(new Error(`writer never paused; stderr: ${stderr}`)), 15_000);
            child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
              stdout += chunk;
              const match = /^paused (.+)\n/m.exec(stdout);
              if (match) {
                clearTimeout(timer);
                resolve(match[1]!);
              }
            });
            child.once('exit', () => reject(new Error(`writer exited early; stderr: ${stderr}`)));
          });
          // The temp file is there, next to the config, with (part of) the new content.
          const partial = await readFile(temp, 'utf8');
          expect(partial.length).toBeGreaterThan(0);
          expect(partial).not.toBe(original);
          child.kill('SIGKILL');
          expect(await exited).toBe('SIGKILL');
        } finally {
          child.kill('SIGKILL');
        }
        expect(await readFile(path, 'utf8')).toBe(original);
        const loaded = await loadConfigFile(path, { KEY: 'k' });
        expect(loaded.servers).toHaveLength(8_000);
        expect(await waitForNoDescendants(5_000)).toEqual([]);
      });
    }
  });
});
