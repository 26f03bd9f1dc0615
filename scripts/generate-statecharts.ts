/**
 * `npm run statecharts`: writes docs/statecharts/<machine>.md and .svg from the machine
 * definitions. `npm run statecharts -- --check` writes nothing, lists the files that differ
 * from what the machines generate now, and exits 1 if any do.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderStatechartFiles } from './statecharts/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = process.argv.includes('--check');

async function current(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

const stale: string[] = [];
for (const file of await renderStatechartFiles()) {
  const path = join(root, file.path);
  const before = await current(path);
  if (before === file.content) {
    if (!check) console.log(`unchanged ${file.path}`);
    continue;
  }
  if (check) {
    stale.push(`${file.path}${before === undefined ? ' (missing)' : ''}`);
    continue;
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, file.content);
  console.log(`wrote     ${file.path}`);
}

if (check) {
  if (stale.length > 0) {
    console.error(`These statechart files differ from the machines; run \`npm run statecharts\`:\n${stale.map((path) => `  ${path}`).join('\n')}`);
    process.exitCode = 1;
  } else {
    console.log('statecharts are up to date');
  }
}
