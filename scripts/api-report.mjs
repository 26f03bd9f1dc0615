// The public API of every entry point, as API Extractor reports it, checked in under api/.
// `npm run check:api` (part of `npm test`) fails when the built declarations differ from the
// checked-in reports, when an exported signature uses a type that is not exported, or when an
// export has no TSDoc comment; `npm run api:update` accepts a deliberate change.
// Needs `npm run build` first (it reads dist/**/*.d.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = fileURLToPath(new URL('..', import.meta.url));
const update = process.argv.includes('--update');

/** Entry point (package export) → its built declaration file. */
const ENTRIES = {
  'mcp-supervisor': 'dist/index.d.ts',
  'mcp-supervisor-machines': 'dist/machines/index.d.ts',
  'mcp-supervisor-service': 'dist/service/index.d.ts',
  'mcp-supervisor-testing': 'dist/testing/index.d.ts',
  'mcp-supervisor-inspector': 'dist/inspector/index.d.ts',
};

const error = { logLevel: 'error', addToApiReportFile: false };
let failed = false;
for (const [name, entry] of Object.entries(ENTRIES)) {
  if (!existsSync(join(root, entry))) {
    console.error(`${entry} is missing: run "npm run build" first`);
    process.exit(1);
  }
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: join(root, entry),
      compiler: { tsconfigFilePath: join(root, 'tsconfig.build.json') },
      apiReport: { enabled: true, reportFileName: `${name}.api.md`, reportFolder: join(root, 'api'), reportTempFolder: join(root, '.scratch/api') },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        compilerMessageReporting: { default: { logLevel: 'warning' } },
        extractorMessageReporting: {
          default: { logLevel: 'warning' },
          // Every type used in an exported signature is exported.
          'ae-forgotten-export': error,
          // Every export has a TSDoc comment.
          'ae-undocumented': error,
          // We do not use release tags (@public/@beta): everything exported is public.
          'ae-missing-release-tag': { logLevel: 'none' },
        },
        tsdocMessageReporting: { default: { logLevel: 'warning' } },
      },
    },
    configObjectFullPath: undefined,
    packageJsonFullPath: join(root, 'package.json'),
  });
  // The package name in reports is the entry's, so each report says which import it describes.
  const result = Extractor.invoke(config, { localBuild: update, showVerboseMessages: false });
  if (!result.succeeded || (!update && result.apiReportChanged)) {
    failed = true;
    console.error(
      `${name}: ${result.errorCount} errors, ${result.warningCount} warnings${result.apiReportChanged ? '; the API report changed (run "npm run api:update" if the change is deliberate)' : ''}`,
    );
  } else {
    console.log(`${name}: API report ${update ? 'written' : 'up to date'}`);
  }
}
process.exit(failed ? 1 : 0);
