import type { ProcessParams, ServerTarget } from './target.js';

/** What every secret is replaced with. */
const REDACTED = '***';

/**
 * Shorter values are not redacted: replacing every "1" or "on" in a message would make it
 * unreadable while protecting nothing a guess would not find.
 */
const MIN_SECRET_LENGTH = 3;

/**
 * The parts of a server entry a person wrote, before `${VAR}` expansion: what `/actors/:id` shows
 * instead of the expanded values. Env and header values are never shown, written or not.
 */
export interface WrittenTarget {
  /** The command as written (stdio, or the launch command of an HTTP server). */
  command?: string;
  /** The arguments as written. */
  args?: string[];
  /** The working directory as written. */
  cwd?: string;
  /** The URL as written (still masked when shown: userinfo and query values are secrets). */
  url?: string;
}

/** What the config loader knows about a target beyond the target itself. */
export interface TargetProvenance {
  /** Values to redact besides the ones the target itself shows are secret (e.g. `${VAR}` expansions). */
  secrets: readonly string[];
  /** The entry as written, if the loader had it. */
  written?: WrittenTarget;
}

/**
 * Side table from a target object to what the loader knew about it. Keyed by identity and weak:
 * the target object travels unchanged from the loader through the supervisor and the machines'
 * context to the runtime, the API views and the inspector, so each of them can find its secrets
 * without every layer in between passing them along. A copy of a target loses the entry; only the
 * secrets the target itself shows ({@link targetSecrets}) are then known.
 */
const provenance = new WeakMap<object, TargetProvenance>();

/**
 * Records what the loader knew about `target` (its `${VAR}` expansions, its written form) and
 * returns `target`, which from now on serializes as {@link redactedTarget}: whatever turns it into
 * JSON (the inspector copies every snapshot that way, losing the object's identity) gets the
 * target without its secrets.
 */
export function withProvenance<T extends ServerTarget>(target: T, info: TargetProvenance): T {
  provenance.set(target, { secrets: [...info.secrets], ...(info.written ? { written: info.written } : {}) });
  if (!Object.hasOwn(target, 'toJSON')) {
    Object.defineProperty(target, 'toJSON', { value: () => redactedTarget(target), enumerable: false, configurable: true });
  }
  return target;
}

/**
 * The target with its secrets taken out, same shape: command, args, cwd and URL as written (or,
 * when the written form is unknown, with every known secret `***`), a URL's userinfo and query
 * values `***`, every env and header value `***` (the names stay). Safe to show or serialize.
 */
export function redactedTarget(target: ServerTarget): ServerTarget {
  if (target.type === 'memory') return { type: 'memory' } as ServerTarget;
  const written = writtenOf(target);
  const show = redactor(secretsOf(target));
  const masked = (record: Record<string, string> | undefined): Record<string, string> | undefined =>
    record === undefined ? undefined : Object.fromEntries(Object.keys(record).map((name) => [name, REDACTED]));
  const processOf = (params: ProcessParams): ProcessParams => ({
    command: show(written?.command ?? params.command),
    args: (written?.args ?? params.args ?? []).map(show),
    ...((written?.cwd ?? params.cwd) === undefined ? {} : { cwd: show((written?.cwd ?? params.cwd) as string) }),
    ...(params.env === undefined ? {} : { env: masked(params.env) }),
  });
  const policy = { ...(target.restart === undefined ? {} : { restart: target.restart }), ...(target.minUptimeMs === undefined ? {} : { minUptimeMs: target.minUptimeMs }) };
  if (target.type === 'stdio') return { type: 'stdio', ...processOf(target), ...policy };
  return {
    type: target.type,
    url: maskUrls(show(written?.url ?? target.url)),
    ...(target.headers === undefined ? {} : { headers: masked(target.headers) }),
    ...(target.launch ? { launch: processOf(target.launch) } : {}),
    ...policy,
  };
}

/**
 * The written form of a server entry as it appears in a config (before `${VAR}` expansion): its
 * `command`, `args`, `cwd` and `url`, each only when it has the right type.
 */
export function writtenTargetOf(entry: unknown): WrittenTarget | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return undefined;
  const { command, args, cwd, url } = entry as Record<string, unknown>;
  return {
    ...(typeof command === 'string' ? { command } : {}),
    ...(Array.isArray(args) && args.every((arg) => typeof arg === 'string') ? { args: [...(args as string[])] } : {}),
    ...(typeof cwd === 'string' ? { cwd } : {}),
    ...(typeof url === 'string' ? { url } : {}),
  };
}

/**
 * `env` as seen through `${VAR}` expansion, remembering in `read` every value handed out: the
 * values a config got from the environment, which are secrets wherever they end up.
 */
export function recordingEnv<T extends object>(env: T, read: string[]): T {
  return new Proxy(env, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value === 'string') read.push(value);
      return value;
    },
  });
}

/** The entry as written, when the loader recorded it. */
export function writtenOf(target: ServerTarget | undefined): WrittenTarget | undefined {
  return target ? provenance.get(target)?.written : undefined;
}

/**
 * Every secret of a target: URL userinfo (user and password) and query values, env values,
 * header values (the launch process's env included), plus whatever the loader recorded
 * (`${VAR}` expansions). Values as they appear percent-encoded in a URL are included too.
 */
export function secretsOf(target: ServerTarget | undefined): string[] {
  if (!target) return [];
  return unique([...targetSecrets(target), ...(provenance.get(target)?.secrets ?? [])]);
}

/** The secrets a target shows by itself (no `${VAR}` knowledge): see {@link secretsOf}. */
export function targetSecrets(target: ServerTarget): string[] {
  switch (target.type) {
    case 'memory':
      return [];
    case 'stdio':
      return Object.values(target.env ?? {});
    case 'sse':
    case 'streamable-http':
      return [...urlSecrets(target.url), ...Object.values(target.headers ?? {}), ...Object.values(target.launch?.env ?? {})];
  }
}

/** Userinfo and query values of a URL, raw and decoded; nothing for a string that is no URL. */
export function urlSecrets(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const found = [parsed.username, parsed.password, ...safeDecode(parsed.username), ...safeDecode(parsed.password)];
  for (const pair of parsed.search.replace(/^\?/, '').split('&')) {
    const value = pair.slice(pair.indexOf('=') + 1);
    if (pair.includes('=')) found.push(value, ...safeDecode(value.replace(/\+/g, ' ')));
  }
  return unique(found.filter((value) => value !== ''));
}

/**
 * `text` with every occurrence of every secret (of at least {@link MIN_SECRET_LENGTH} characters)
 * replaced by `***`, longest first so a secret containing another is replaced whole; then URLs in
 * the text are masked ({@link maskUrls}), which covers credentials nobody knew about up front. A
 * secret is also found percent-encoded, JSON-escaped and with its control characters escaped the
 * way Node's messages print them (`\x00`, `\n`).
 */
export function redact(text: string, secrets: Iterable<string> = []): string {
  return redactor(secrets)(text);
}

/**
 * {@link redact} with `secrets` fixed, the forms to search for worked out once: for text that
 * keeps coming, like a server's stderr.
 */
export function redactor(secrets: Iterable<string>): (text: string) => string {
  const forms = expandSecrets(secrets);
  return (text) => {
    let result = text;
    for (const form of forms) {
      if (result.includes(form)) result = result.split(form).join(REDACTED);
    }
    return maskUrls(result);
  };
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>`]+/gi;
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*)@/i;
const QUERY_VALUE = /([?&][^=&#]*=)([^&#)\]]*)/g;

/**
 * Masks the userinfo (`scheme://user:pass@` → `scheme://***:***@`) and every query value
 * (`?a=b&c=d` → `?a=***&c=***`) of each URL found in `text`; the rest of the text is unchanged.
 */
export function maskUrls(text: string): string {
  return text.replace(URL_IN_TEXT, (url) =>
    url
      .replace(USERINFO, (_match, scheme: string, userinfo: string) => `${scheme}${userinfo.includes(':') ? `${REDACTED}:${REDACTED}` : REDACTED}@`)
      .replace(QUERY_VALUE, (_match, name: string, value: string) => (value === '' || value === REDACTED ? `${name}${value}` : `${name}${REDACTED}`)),
  );
}

/** The forms in which secrets are searched for, longest first. */
function expandSecrets(secrets: Iterable<string>): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret !== 'string') continue;
    for (const form of [secret, encodeURIComponentSafe(secret), JSON.stringify(secret).slice(1, -1), inspectEscaped(secret, true), inspectEscaped(secret, false)]) {
      if (form.length >= MIN_SECRET_LENGTH) forms.add(form);
    }
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

const SHORT_ESCAPES: Record<string, string> = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\v': '\\v', '\f': '\\f', '\r': '\\r' };

/** Control characters as Node's messages print them in a quoted string (`\x00`, `\x1B` or `\x1b`, `\n`). */
function inspectEscaped(value: string, upperHex: boolean): string {
  return value.replace(/[\u0000-\u001f\u007f]/g, (char) => {
    const hex = char.charCodeAt(0).toString(16).padStart(2, '0');
    return SHORT_ESCAPES[char] ?? `\\x${upperHex ? hex.toUpperCase() : hex}`;
  });
}

function encodeURIComponentSafe(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return value;
  }
}

function safeDecode(value: string): string[] {
  try {
    const decoded = decodeURIComponent(value);
    return decoded === value ? [] : [decoded];
  } catch {
    return [];
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
