import type { ConfigIssue } from './errors.js';

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Expands `${VAR}` (and `${VAR:-default}`) in every string of a parsed JSON value. A variable
 * that is unset and has no default is an issue at that path, not an empty string: a silently
 * empty token would only surface later as a 401.
 */
export function expandEnv(value: unknown, env: Readonly<Record<string, string | undefined>>, issues: ConfigIssue[], path: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined) return found;
      if (fallback !== undefined) return fallback;
      issues.push({ path: path.join('.'), message: `environment variable ${name} is not set` });
      return match;
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => expandEnv(item, env, issues, [...path, String(index)]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expandEnv(item, env, issues, [...path, key])]));
  }
  return value;
}
