/**
 * Names the one MCP endpoint (`/mcp`) gives the tools and prompts of the whole fleet:
 * `<server>__<name>`, safe for the function-name rules of model APIs. Pure: no I/O, no clock.
 *
 * A name is never split on its separator to find the server: server ids may contain `__` and `.`
 * (`SERVER_ID_PATTERN`), and tool names may contain anything. An exposed name is only ever
 * looked up in the {@link NameTable} that made it.
 */

/** Default longest exposed name: Claude/OpenAI function names are ^[a-zA-Z0-9_-]{1,64}$. */
export const DEFAULT_MAX_NAME_LENGTH = 64;

/** The MCP spec allows tool names of 1–128 characters; shorter than this leaves no room for the hash. */
const MIN_MAX_LENGTH = 16;
const MAX_MAX_LENGTH = 128;
const SEPARATOR = '__';
/** `_` plus 8 base32 characters: 40 bits of `server\0name`. */
const HASH_CHARS = 8;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = (1n << 64n) - 1n;

function checkMaxLength(maxLength: number): number {
  if (!Number.isInteger(maxLength) || maxLength < MIN_MAX_LENGTH || maxLength > MAX_MAX_LENGTH) {
    throw new RangeError(`the longest exposed name must be an integer from ${MIN_MAX_LENGTH} to ${MAX_MAX_LENGTH}, got ${String(maxLength)}`);
  }
  return maxLength;
}

/** Every character outside [A-Za-z0-9_-] (dots too, which MCP allows and model APIs refuse) becomes `_`. */
function sanitize(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * 8 base32 characters of FNV-1a (64-bit) over the UTF-16 code units of `server\0name`. Not a
 * secret and not collision-proof against someone trying: {@link NameTable} stays injective
 * whatever the hashes do.
 */
function hashOf(server: string, name: string): string {
  const text = `${server}\0${name}`;
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * FNV_PRIME) & MASK_64;
  }
  let out = '';
  for (let i = 0; i < HASH_CHARS; i++) {
    out += BASE32[Number(hash & 31n)];
    hash >>= 5n;
  }
  return out;
}

/** `text` cut so that `text + suffix` fits in `maxLength`. */
function withSuffix(text: string, suffix: string, maxLength: number): string {
  return text.slice(0, maxLength - suffix.length) + suffix;
}

/** The sanitized name with the hash suffix, whether or not it was too long. */
function hashed(server: string, name: string, maxLength: number): string {
  return withSuffix(sanitize(`${server}${SEPARATOR}${name}`), `_${hashOf(server, name)}`, maxLength);
}

/** `<server>__<name>`, charset [A-Za-z0-9_-] (others → `_`), cut to maxLength with `_<8-char hash>` when longer. */
export function exposedName(server: string, name: string, maxLength: number = DEFAULT_MAX_NAME_LENGTH): string {
  checkMaxLength(maxLength);
  const plain = sanitize(`${server}${SEPARATOR}${name}`);
  return plain.length <= maxLength ? plain : hashed(server, name, maxLength);
}

/** Code-unit order of (server, name): the one order every tie is broken in. */
function compareEntries(a: { server: string; name: string }, b: { server: string; name: string }): number {
  if (a.server !== b.server) return a.server < b.server ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return 0;
}

/** Exposed name ⇄ { server, name } for one catalog snapshot; collisions get hash suffixes on every colliding entry; deterministic. */
export class NameTable {
  private readonly byOriginal = new Map<string, Map<string, string>>();
  private readonly byExposed = new Map<string, { server: string; name: string }>();

  /**
   * Names depend only on the set of entries, never on their order: sanitizing (`a.b` and `a_b`)
   * or cutting can make two originals one name, and then every one of them gets the hash suffix,
   * not just the later arrival, so no name depends on who came first. Should suffixed names
   * still meet (a hash collision, or a tool literally named like another's suffixed name), the
   * rest get `_2`, `_3`, … in (server, name) order: the table is injective whatever the input.
   */
  constructor(entries: ReadonlyArray<{ server: string; name: string }>, maxLength: number = DEFAULT_MAX_NAME_LENGTH) {
    checkMaxLength(maxLength);
    const unique = new Map<string, { server: string; name: string }>();
    for (const { server, name } of entries) unique.set(JSON.stringify([server, name]), { server, name });
    const sorted = [...unique.values()].sort(compareEntries);

    const plain = groupBy(sorted, (entry) => exposedName(entry.server, entry.name, maxLength));
    const candidates = new Map<string, Array<{ server: string; name: string }>>();
    for (const [name, group] of plain) {
      if (group.length === 1) push(candidates, name, group[0]!);
      else for (const entry of group) push(candidates, hashed(entry.server, entry.name, maxLength), entry);
    }

    const taken = new Set(candidates.keys());
    for (const name of [...candidates.keys()].sort()) {
      const group = candidates.get(name)!.sort(compareEntries);
      this.assign(group[0]!, name);
      for (const entry of group.slice(1)) {
        let n = 2;
        let free = withSuffix(name, `_${n}`, maxLength);
        while (taken.has(free)) free = withSuffix(name, `_${++n}`, maxLength);
        taken.add(free);
        this.assign(entry, free);
      }
    }
  }

  /** The exposed name of a server's tool (or prompt), if it is in this table. */
  exposed(server: string, name: string): string | undefined {
    return this.byOriginal.get(server)?.get(name);
  }

  /** The server and original name behind an exposed name, if it is in this table. */
  resolve(exposed: string): { server: string; name: string } | undefined {
    const found = this.byExposed.get(exposed);
    return found && { ...found };
  }

  private assign(entry: { server: string; name: string }, exposed: string): void {
    let names = this.byOriginal.get(entry.server);
    if (!names) this.byOriginal.set(entry.server, (names = new Map()));
    names.set(entry.name, exposed);
    this.byExposed.set(exposed, entry);
  }
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) push(groups, key(item), item);
  return groups;
}

function push<T>(groups: Map<string, T[]>, key: string, item: T): void {
  const group = groups.get(key);
  if (group) group.push(item);
  else groups.set(key, [item]);
}
