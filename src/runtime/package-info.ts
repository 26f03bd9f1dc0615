import { readFileSync } from 'node:fs';

let version: string | undefined;

/**
 * This package's version, read once from its package.json: the one version number, shown by
 * `--version`, the OpenAPI document and the `clientInfo` every server sees. The relative path
 * holds from `src/runtime/` and from `dist/runtime/` alike.
 */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}
