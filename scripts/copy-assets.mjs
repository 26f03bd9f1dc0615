// Part of `npm run build`: tsc emits only what it compiles, so the files the code reads or spawns
// at run time (the dashboard page, the watchdog helper) are copied next to the emitted JavaScript.
import { cpSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
const ASSET = /\.(mjs|html|css|js)$/;

function walk(directory) {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (ASSET.test(entry.name)) cpSync(path, join(dist, relative(src, path)));
  }
}
walk(src);
