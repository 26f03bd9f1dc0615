import type { ConfigIssue } from './errors.js';

/**
 * `${VAR}`, `${VAR:-default}`, `${env:VAR}` (the spelling Cursor and VS Code use) and `${input:id}`
 * (VS Code's prompt for a value, which a service cannot show).
 */
const PLACEHOLDER = /\$\{(?:(env|input):)?([A-Za-z_][A-Za-z0-9_.-]*)(?::-([^}]*))?\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Expands placeholders in every string of a parsed JSON value. A variable that is unset and has
 * no default is an issue at that path, not an empty string: a silently empty token would only
 * surface later as a 401. `predefined` holds the values of `${workspaceFolder}`-style variables,
 * used when the environment has no variable of that name (never for `${env:…}`).
 */
export function expandEnv(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  issues: ConfigIssue[],
  path: string[] = [],
  predefined: Readonly<Record<string, string>> = {},
): unknown {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (match, prefix: string | undefined, name: string, fallback: string | undefined) => {
      if (prefix === 'input') {
        issues.push({
          path: path.join('.'),
          message: `${match} asks VS Code to prompt for a value, which a service cannot do: put the value in an environment variable and write \${env:NAME}`,
        });
        return match;
      }
      if (!ENV_NAME.test(name)) return match;
      const found = Object.hasOwn(env, name) ? env[name] : undefined;
      if (found !== undefined) return found;
      if (prefix === undefined && Object.hasOwn(predefined, name)) return predefined[name] as string;
      if (fallback !== undefined) return fallback;
      issues.push({ path: path.join('.'), message: `environment variable ${name} is not set` });
      return match;
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => expandEnv(item, env, issues, [...path, String(index)], predefined));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expandEnv(item, env, issues, [...path, key], predefined)]));
  }
  return value;
}
