/**
 * What a user gets from `npm install mcp-supervisor`: the tarball `npm pack` makes (its real
 * `prepare` build included), installed into a fresh app, used the way the README says — a plain
 * Node script supervising a real MCP server, the bin, the pure machines under XState and in a
 * browser bundle, a strict TypeScript consumer, and the root entry without the HTTP stack.
 *
 * The pack runs in a copy of the working tree (its node_modules a symlink to ours), so the
 * repository's own dist/ is never rebuilt under another test file that reads it.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readProcStat } from '../support/processes.js';
import {
  APP_MJS,
  BAD_OPTION_TS,
  BUNDLE_CHECK_MJS,
  BUNDLE_ENTRY_MJS,
  CONSUMER_TS,
  MACHINES_MJS,
  NO_HTTP_MJS,
  SCENARIO_MJS,
  consumerTsconfig,
} from './app-files.js';
import { describeRun, killAll, run } from './run.js';
import type { RunResult } from './run.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const ourModules = join(repoRoot, 'node_modules');
const ourPackage = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  version: string;
  exports: Record<string, string | { types: string; default: string }>;
  bin: Record<string, string>;
};
const everythingEntry = join(ourModules, '@modelcontextprotocol/server-everything/dist/index.js');

/** Never copied into the staging tree: build output, dependencies, VCS and scratch state. */
const NOT_STAGED = new Set(['node_modules', '.git', 'dist', '.scratch', 'coverage']);

interface PackedFile {
  path: string;
  size: number;
}
interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: PackedFile[];
}

let root: string | undefined;
let app = '';
let installed = '';
let packed: PackResult | undefined;

function expectOk(result: RunResult): void {
  expect(result.timedOut || result.code !== 0, describeRun(result)).toBe(false);
}

/** npm prints lifecycle output before the JSON; the report is the array that starts a line. */
function parsePackJson(stdout: string): PackResult {
  const start = stdout.search(/^\[\s*$/m);
  if (start < 0) throw new Error(`no JSON in npm pack output:\n${stdout.slice(-4_000)}`);
  const reports = JSON.parse(stdout.slice(start)) as PackResult[];
  const [report] = reports;
  if (report === undefined || reports.length !== 1) throw new Error(`expected one package in npm pack output, got ${reports.length}`);
  return report;
}

function isAlive(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

function write(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

function walk(directory: string, out: string[] = []): string[] {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

/** The last line of a script's stdout, as JSON. */
function lastJson<T>(result: RunResult): T {
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`no JSON result line\n${describeRun(result)}`);
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mcp-supervisor-packaging-'));
  const staging = join(root, 'staging');
  const packDir = join(root, 'pack');
  app = join(root, 'app');
  mkdirSync(packDir);
  mkdirSync(app);

  // The working tree as it is (so `files` is tested against test/, bench/, examples/ … too),
  // without build output or dependencies; node_modules is ours, through a symlink.
  cpSync(repoRoot, staging, {
    recursive: true,
    filter: (source) => {
      const path = relative(repoRoot, source);
      if (path === '') return true;
      const [top] = path.split(sep);
      return !NOT_STAGED.has(top ?? '') && !path.split(sep).includes('node_modules') && !source.endsWith('.tgz');
    },
  });
  symlinkSync(ourModules, join(staging, 'node_modules'), 'dir');

  // `npm pack` runs `prepare` (= `npm run build`): the tarball is what a publish would upload.
  const pack = await run('npm', ['pack', '--pack-destination', packDir, '--json'], { cwd: staging, timeoutMs: 180_000 });
  expectOk(pack);
  packed = parsePackJson(pack.stdout);
  const tarball = join(packDir, packed.filename);
  console.log(
    `npm pack: ${packed.filename}, ${packed.entryCount} files, ${(packed.size / 1024).toFixed(1)} kB packed, ` +
      `${(packed.unpackedSize / 1024).toFixed(1)} kB unpacked (${(pack.ms / 1000).toFixed(1)} s)`,
  );

  write(join(app, 'package.json'), JSON.stringify({ name: 'packaging-consumer', private: true, type: 'module' }, null, 2));
  const install = await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball], {
    cwd: app,
    timeoutMs: 180_000,
  });
  expectOk(install);
  console.log(`npm install of the tarball: ${(install.ms / 1000).toFixed(1)} s`);
  installed = join(app, 'node_modules', 'mcp-supervisor');

  write(join(app, 'app.mjs'), APP_MJS);
  write(join(app, 'scenario.mjs'), SCENARIO_MJS);
  write(join(app, 'machines.mjs'), MACHINES_MJS);
  write(join(app, 'entry.mjs'), BUNDLE_ENTRY_MJS);
  write(join(app, 'bundle-check.mjs'), BUNDLE_CHECK_MJS);
  write(join(app, 'no-http.mjs'), NO_HTTP_MJS);
  write(join(app, 'tsconfig.json'), consumerTsconfig(join(ourModules, '@types')));
  write(join(app, 'consumer.ts'), CONSUMER_TS);
  write(join(app, 'bad-option.ts'), BAD_OPTION_TS);
}, 420_000);

afterAll(() => {
  killAll();
  if (root === undefined) return;
  // The symlink goes first, so nothing below can ever reach our own node_modules.
  const link = join(root, 'staging', 'node_modules');
  if (existsSync(link)) unlinkSync(link);
  rmSync(root, { recursive: true, force: true });
});

describe('the published package', () => {
  it('ships the built entry points and assets, and nothing else', () => {
    const files = new Set((packed?.files ?? []).map((file) => file.path));
    const required = [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/mcp-supervisor.mjs',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/service/cli.js',
      'dist/http/dashboard/index.html',
      'dist/runtime/process/watchdog-process.mjs',
      'docs/statecharts/connection.svg',
      'deploy/prometheus/rules.yml',
      'deploy/grafana/mcp-supervisor.json',
    ];
    for (const [subpath, target] of Object.entries(ourPackage.exports)) {
      if (typeof target === 'string') required.push(target.replace(/^\.\//, ''));
      else required.push(target.types.replace(/^\.\//, ''), target.default.replace(/^\.\//, ''));
      if (subpath !== './package.json') expect(typeof target, subpath).toBe('object');
    }
    for (const target of Object.values(ourPackage.bin)) required.push(target.replace(/^\.\//, ''));
    expect(required.filter((path) => !files.has(path)), 'missing from the tarball').toEqual([]);

    const forbidden = [...files].filter(
      (path) =>
        /^(test|bench|src|\.ci|scripts|examples|node_modules|\.scratch)\//.test(path) ||
        /\.png$/.test(path) ||
        /(^|\/)tsconfig[^/]*$/.test(path) ||
        /\.tsbuildinfo$/.test(path) ||
        /\.tgz$/.test(path),
    );
    expect(forbidden, 'must not be in the tarball').toEqual([]);
    // The whitelist as a whole: the built code, the bin, the statechart pictures, the three
    // documents, the Prometheus rules and the Grafana dashboard (without their tests).
    const shipped = ['package.json', 'README.md', 'LICENSE', 'deploy/prometheus/rules.yml', 'deploy/grafana/mcp-supervisor.json'];
    const unexpected = [...files].filter((path) => !/^(dist|bin)\//.test(path) && !/^docs\/statecharts\/[^/]+\.svg$/.test(path) && !shipped.includes(path));
    expect(unexpected, 'outside the files whitelist').toEqual([]);
  });

  it('resolves every relative import and asset URL of the shipped code inside the package', () => {
    const broken: string[] = [];
    for (const file of walk(join(installed, 'dist'))) {
      if (!/\.(m?js|d\.ts)$/.test(file)) continue;
      const text = readFileSync(file, 'utf8');
      const specifiers = [
        ...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm),
        ...text.matchAll(/new URL\(\s*['"](\.{1,2}\/[^'"]*)['"]\s*,\s*import\.meta\.url\s*\)/g),
      ].map((match) => match[1] ?? '');
      for (const specifier of specifiers) {
        const target = resolve(dirname(file), specifier);
        // Declarations import './x.js' for './x.d.ts'.
        const candidates = file.endsWith('.d.ts') ? [target, target.replace(/\.js$/, '.d.ts')] : [target];
        const found = candidates.some((candidate) => existsSync(candidate) && (specifier.endsWith('/') ? statSync(candidate).isDirectory() : statSync(candidate).isFile()));
        if (!found) broken.push(`${relative(installed, file)}: '${specifier}'`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('supervises server-everything from a plain Node script through the root entry, and the script exits by itself', async () => {
    const message = 'from the packed tarball';
    const result = await run(process.execPath, ['app.mjs', everythingEntry, message], { cwd: app, timeoutMs: 60_000 });
    const out = result.code === 0 ? lastJson<{ text: string; pid: number | null; states: string[]; final: string }>(result) : undefined;
    expect(result.timedOut, `app.mjs did not exit by itself\n${describeRun(result)}`).toBe(false);
    expect(result.code, describeRun(result)).toBe(0);
    expect(out?.text).toBe(`Echo: ${message}`);
    expect(out?.states).toContain('healthy');
    expect(out?.final).toBe('stopped');
    expect(typeof out?.pid).toBe('number');
    if (typeof out?.pid === 'number' && isAlive(out.pid)) {
      process.kill(out.pid, 'SIGKILL');
      expect.fail(`server-everything (pid ${out.pid}) outlived the app that supervised it`);
    }
  }, 90_000);

  it('runs the bin from another directory: --version and --help', async () => {
    const bin = join(app, 'node_modules', '.bin', 'mcp-supervisor');
    const version = await run(bin, ['--version'], { cwd: app, timeoutMs: 20_000 });
    expectOk(version);
    expect(version.stdout.trim()).toBe(ourPackage.version);
    const help = await run(bin, ['--help'], { cwd: app, timeoutMs: 20_000 });
    expectOk(help);
    expect(help.stdout).toContain('Usage: mcp-supervisor --config <file>');
  }, 60_000);

  it('runs the connection machine under XState with scripted actors until healthy', async () => {
    const result = await run(process.execPath, ['machines.mjs'], { cwd: app, timeoutMs: 30_000 });
    expectOk(result);
    const out = lastJson<{ seen: string[]; calls: { connect: number; probe: number }; status: string; known: boolean }>(result);
    expect(out.seen).toEqual(['connecting', 'healthy']);
    expect(out.calls.connect).toBe(1);
    expect(out.calls.probe).toBeGreaterThan(0);
    expect(out.status).toBe('stopped');
    expect(out.known).toBe(true);
  }, 60_000);

  it('bundles the machines entry for the browser without Node built-ins, the MCP SDK, hono, pino or ws', async () => {
    const esbuild = join(ourModules, '.bin', 'esbuild');
    const result = await run(
      esbuild,
      ['entry.mjs', '--bundle', '--platform=browser', '--format=esm', '--outfile=out.js', '--metafile=meta.json', '--log-level=warning'],
      { cwd: app, timeoutMs: 60_000 },
    );
    expectOk(result);
    expect(result.stderr, 'esbuild warnings').not.toMatch(/node:|built into node|\b(fs|path|child_process|net|os|crypto|stream|events|util|http|https)\b/);

    const meta = JSON.parse(readFileSync(join(app, 'meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    const inputs = Object.keys(meta.inputs);
    expect(inputs.some((input) => input.includes('node_modules/mcp-supervisor/dist/machines/'))).toBe(true);
    expect(inputs.some((input) => input.includes('node_modules/xstate/'))).toBe(true);
    const leaked = inputs.filter((input) => /node_modules\/(@modelcontextprotocol|hono|@hono|pino|ws|prom-client|@statelyai)\//.test(input) || /^node:|^\(disabled\)/.test(input));
    expect(leaked, 'bundled modules the machines entry must not load').toEqual([]);

    const bundle = readFileSync(join(app, 'out.js'), 'utf8');
    const named = ['@modelcontextprotocol', ...['hono', 'pino', 'ws', 'prom-client'].map((name) => `"${name}"`), '"node:'];
    expect(named.filter((name) => bundle.includes(name))).toEqual([]);
    expect(bundle).not.toMatch(/\brequire\(\s*["']/);

    const check = await run(process.execPath, ['bundle-check.mjs'], { cwd: app, timeoutMs: 30_000 });
    expectOk(check);
    expect(lastJson<{ seen: string[] }>(check).seen).toEqual(['connecting', 'healthy']);
  }, 90_000);

  it('compiles a strict TypeScript consumer of every entry point, and rejects an unknown option', async () => {
    const tsc = join(ourModules, 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: app, timeoutMs: 90_000 });
    expect(result.timedOut, describeRun(result)).toBe(false);
    // tsc exits 2 here: bad-option.ts must fail. Every diagnostic is a line "file(l,c): error TSn: …" or "error TSn: …".
    const errors = (result.stdout + result.stderr).split('\n').filter((line) => /\berror TS\d+:/.test(line));
    const elsewhere = errors.filter((line) => !line.startsWith('bad-option.ts('));
    expect(elsewhere, 'errors outside bad-option.ts').toEqual([]);
    expect(errors, describeRun(result)).toHaveLength(1);
    expect(errors[0]).toMatch(/^bad-option\.ts\(4,\d+\): error TS2353: .*'notAnOption' does not exist in type 'CreateSupervisorOptions'/);
  }, 120_000);

  // Last: it renames packages in the app's node_modules away.
  it('loads the root and machines entries without the HTTP stack, the inspector, pino or prom-client installed', async () => {
    const modules = join(app, 'node_modules');
    const hidden = ['hono', '@hono', 'ws', '@statelyai', 'pino', 'prom-client'];
    expect(hidden.filter((name) => !existsSync(join(modules, name))), 'expected at the top of node_modules').toEqual([]);
    const away = join(app, 'hidden-modules');
    mkdirSync(away);
    for (const name of hidden) renameSync(join(modules, name), join(away, basename(name)));

    const imports = await run(process.execPath, ['no-http.mjs'], { cwd: app, timeoutMs: 30_000 });
    expectOk(imports);
    const out = lastJson<{ root: boolean; machines: boolean; service: string }>(imports);
    expect(out).toMatchObject({ root: true, machines: true });
    // The rename took: the service entry, which needs them, no longer loads.
    expect(out.service).toBe('ERR_MODULE_NOT_FOUND');

    const machines = await run(process.execPath, ['machines.mjs'], { cwd: app, timeoutMs: 30_000 });
    expectOk(machines);
    const supervised = await run(process.execPath, ['app.mjs', everythingEntry, 'without hono'], { cwd: app, timeoutMs: 60_000 });
    expectOk(supervised);
    expect(lastJson<{ text: string }>(supervised).text).toBe('Echo: without hono');
  }, 120_000);
});
