import { pino } from 'pino';
import type { Logger, LevelWithSilent } from 'pino';
import { maskUrls } from '../core/secrets.js';

export type { Logger };

const DEPTH_LIMIT = 8;

/**
 * Structured JSON logs. Secret-bearing fields are redacted by path, so an `env` or `headers`
 * object passed along by mistake never reaches the output; and every string logged (messages,
 * field values, error messages and stacks) has the credentials and query values of any URL in it
 * masked (`scheme://***:***@host/path?key=***`). Error messages about servers arrive redacted
 * already (src/runtime redacts them where they are born); this is the second line.
 */
export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'mcp-supervisor' },
      redact: { paths: ['env', '*.env', 'headers', '*.headers', 'token', '*.token'], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (object) => maskStrings(object) as Record<string, unknown> },
      serializers: { err: serializeError },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? maskUrls(arg) : arg)) as Parameters<typeof method>);
        },
      },
    },
    destination as Parameters<typeof pino>[1],
  );
}

/** pino's error serializer, with URLs masked in the message and stack (causes included). */
function serializeError(error: Error): unknown {
  const serialized: unknown = pino.stdSerializers.err(error);
  if (typeof serialized !== 'object' || serialized === null) return maskStrings(serialized);
  return Object.fromEntries(Object.entries(serialized).map(([key, value]) => [key, maskStrings(value)]));
}

/** A copy of plain objects and arrays with every string in them passed through `maskUrls`. */
function maskStrings(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskUrls(value);
  if (depth > DEPTH_LIMIT || typeof value !== 'object' || value === null) return value;
  // Errors are left to the `err` serializer (pino prints other Error values as `{}`).
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => maskStrings(item, depth + 1));
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, maskStrings(item, depth + 1)]));
}
