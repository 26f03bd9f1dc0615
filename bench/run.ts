// `npm run bench`: every scenario in bench/scenarios, one after the other. Prints a markdown
// table and writes JSON to bench/results/. `npm run bench -- storm scale` runs only the
// scenarios whose file name contains one of the words.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Row, Scenario } from './harness.js';

const filters = process.argv.slice(2);
const directory = fileURLToPath(new URL('./scenarios/', import.meta.url));
const files = (await readdir(directory)).filter((file) => file.endsWith('.ts')).sort();
const chosen = files.filter((file) => filters.length === 0 || filters.some((word) => file.includes(word)));

const rows: Row[] = [];
const started = Date.now();
for (const file of chosen) {
  const { scenario } = (await import(new URL(`./scenarios/${file}`, import.meta.url).href)) as { scenario: Scenario };
  const scenarioStarted = Date.now();
  process.stderr.write(`bench: ${scenario.name} …\n`);
  try {
    const measured = await scenario.run();
    rows.push(...measured);
    process.stderr.write(`bench: ${scenario.name} done in ${((Date.now() - scenarioStarted) / 1000).toFixed(1)} s\n`);
  } catch (error) {
    process.stderr.write(`bench: ${scenario.name} failed: ${(error as Error).stack ?? String(error)}\n`);
    rows.push({ scenario: scenario.name, metric: 'error', value: Number.NaN, unit: '', note: (error as Error).message });
  }
}

const table = [
  '| scenario | metric | value | bound / goal | note |',
  '|---|---|---|---|---|',
  ...rows.map((row) => `| ${row.scenario} | ${row.metric} | ${Number.isNaN(row.value) ? '—' : `${row.value} ${row.unit}`.trim()} | ${row.bound ?? ''} | ${row.note ?? ''} |`),
].join('\n');
process.stdout.write(`${table}\n`);

const machine = { node: process.version, platform: process.platform, cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem() };
const results = fileURLToPath(new URL('./results/', import.meta.url));
await mkdir(results, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const file = `${results}bench-${stamp}.json`;
const body = `${JSON.stringify({ at: new Date().toISOString(), durationMs: Date.now() - started, machine, scenarios: chosen, rows }, null, 2)}\n`;
await writeFile(file, body);
await writeFile(`${results}latest.json`, body);
process.stdout.write(`\nwrote ${file} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
