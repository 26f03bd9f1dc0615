import { pino } from 'pino';
import type { Logger, LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Secret-bearing fields are redacted by path, so an `env` or `headers`
 * object passed along by mistake never reaches the output.
 */
export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'mcp-supervisor' },
      redact: { paths: ['env', '*.env', 'headers', '*.headers', 'token', '*.token'], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as Parameters<typeof pino>[1],
  );
}
