import { basename, dirname, resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';
import type { AuditConfig } from '../config/load.js';
import type { ConfigIssue } from '../config/errors.js';
import { rawSupervisorSection } from './log-files.js';
import { AuditTrail } from '../observe/audit.js';
import { FileSink } from '../observe/file-sink.js';
import type { SinkHealth } from '../observe/file-sink.js';
import type { Logger } from '../observe/logger.js';
import { unwritableReason } from '../observe/writable-dir.js';

/** `supervisor.audit`'s defaults: next to the config, 10 MiB per file, 20 rotated files. */
const AUDIT_FILE_DEFAULTS = { file: 'audit/audit.log', maxSizeBytes: 10 * 1024 * 1024, maxFiles: 20 } as const;

/** The audit trail's file: `supervisor.audit.file` relative to the config file's directory; undefined when turned off. */
function auditFilePath(configPath: string, audit: AuditConfig | undefined): string | undefined {
  if (audit?.enabled === false) return undefined;
  return resolve(dirname(resolve(configPath)), audit?.file ?? AUDIT_FILE_DEFAULTS.file);
}

/** For `--check`, which creates nothing: the problem with the audit trail's directory, as a config issue; none when it is writable or off. */
export async function auditDirIssues(configPath: string, audit: AuditConfig | undefined): Promise<ConfigIssue[]> {
  const path = auditFilePath(configPath, audit);
  if (path === undefined) return [];
  const reason = await unwritableReason(dirname(path), { create: false });
  return reason === undefined ? [] : [{ path: 'supervisor.audit.file', message: reason }];
}

/** `supervisor.audit` read leniently from a config file that did not validate (for `--check`). */
export async function rawAuditSection(configPath: string): Promise<AuditConfig | undefined> {
  const audit = await rawSupervisorSection(configPath, 'audit');
  if (audit === undefined) return undefined;
  const { enabled, file } = audit;
  return { enabled: typeof enabled === 'boolean' ? enabled : undefined, file: typeof file === 'string' && file !== '' ? file : undefined };
}

/**
 * The service's audit trail as `supervisor.audit` sets it: to a rotated file (on unless `enabled:
 * false`) and in memory. Its directory is created and written to first: a `ConfigError` at
 * `supervisor.audit.file` when it cannot be.
 */
export async function openAuditTrail(configPath: string, audit: AuditConfig | undefined, deps: { logger?: Logger; health: SinkHealth }): Promise<AuditTrail> {
  const path = auditFilePath(configPath, audit);
  if (path === undefined) return new AuditTrail();
  const reason = await unwritableReason(dirname(path), { create: true });
  if (reason !== undefined) throw new ConfigError(configPath, [{ path: 'supervisor.audit.file', message: reason }]);
  const sink = new FileSink({
    sink: 'audit',
    dir: dirname(path),
    naming: { file: basename(path) },
    maxSizeBytes: audit?.maxSizeBytes ?? AUDIT_FILE_DEFAULTS.maxSizeBytes,
    maxFiles: audit?.maxFiles ?? AUDIT_FILE_DEFAULTS.maxFiles,
    ...(deps.logger ? { logger: deps.logger } : {}),
    health: deps.health,
  });
  return new AuditTrail({ sink });
}
