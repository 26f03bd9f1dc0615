import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';
import type { ConfigIssue } from '../config/errors.js';
import type { LogFilesConfig } from '../config/load.js';
import type { SinkHealth } from '../observe/file-sink.js';
import type { Logger } from '../observe/logger.js';
import { LOG_FILE_DEFAULTS, ServerLogFiles } from '../observe/server-logs.js';
import { unwritableReason } from '../observe/writable-dir.js';

/** Where `supervisor.logs` puts server logs: its `dir` (default `logs`) relative to the config file's directory; undefined when turned off. */
function logFilesDir(configPath: string, logs: LogFilesConfig | undefined): string | undefined {
  if (logs?.enabled === false) return undefined;
  return resolve(dirname(resolve(configPath)), logs?.dir ?? LOG_FILE_DEFAULTS.dir);
}

/**
 * The service's server log files as `supervisor.logs` sets them (on unless `enabled: false`); the
 * directory is created and written to first: a `ConfigError` at `supervisor.logs.dir` when it cannot be.
 */
export async function openServerLogs(
  configPath: string,
  logs: LogFilesConfig | undefined,
  deps: { logger?: Logger; health: SinkHealth },
): Promise<ServerLogFiles | undefined> {
  const dir = logFilesDir(configPath, logs);
  if (dir === undefined) return undefined;
  const reason = await unwritableReason(dir, { create: true });
  if (reason !== undefined) throw new ConfigError(configPath, [{ path: 'supervisor.logs.dir', message: reason }]);
  return new ServerLogFiles({ dir, maxSizeBytes: logs?.maxSizeBytes, maxAgeDays: logs?.maxAgeDays, maxFiles: logs?.maxFiles, logger: deps.logger, health: deps.health });
}

/**
 * For `--check`, which creates nothing: the problem with the log directory `supervisor.logs`
 * names, as a config issue; none when it is writable (or would be created in a writable parent),
 * or file logs are off.
 */
export async function logDirIssues(configPath: string, logs: LogFilesConfig | undefined): Promise<ConfigIssue[]> {
  const dir = logFilesDir(configPath, logs);
  if (dir === undefined) return [];
  const reason = await unwritableReason(dir, { create: false });
  return reason === undefined ? [] : [{ path: 'supervisor.logs.dir', message: reason }];
}

/**
 * A `supervisor` key read leniently from a config file that did not validate, so `--check` can
 * still check the directories it names along with the other problems; undefined when it cannot be read.
 */
export async function rawSupervisorSection(configPath: string, key: 'logs' | 'audit'): Promise<Record<string, unknown> | undefined> {
  try {
    const raw = JSON.parse(await readFile(configPath, 'utf8')) as { supervisor?: Record<string, unknown> };
    const section = raw.supervisor?.[key];
    return typeof section === 'object' && section !== null && !Array.isArray(section) ? (section as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `supervisor.logs` as {@link rawSupervisorSection} reads it. */
export async function rawLogsSection(configPath: string): Promise<LogFilesConfig | undefined> {
  const logs = await rawSupervisorSection(configPath, 'logs');
  if (logs === undefined) return undefined;
  const { enabled, dir } = logs;
  return { enabled: typeof enabled === 'boolean' ? enabled : undefined, dir: typeof dir === 'string' && dir !== '' ? dir : undefined };
}
