import { createHash, timingSafeEqual } from 'node:crypto';

// Who may talk to a loopback listener (the HTTP API and the inspector bridge): which `Host` and
// `Origin` values name it, and bearer tokens compared in constant time. Shared by src/http (the
// API's guards) and observe/inspector.ts (the bridge's WebSocket), which may not import http.

/** The names every loopback listener answers to, whatever it is bound to. */
const LOOPBACK_NAMES: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** A `Host` value or an allow-list entry taken apart: a lower-case name (IPv6 in brackets) and maybe a port. */
interface Authority {
  name: string;
  port: number | undefined;
}

const NAME = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/;
const IPV6 = /^\[[0-9a-f:.]+\]$/;

/**
 * `name`, `name:port`, `[v6]` or `[v6]:port` as a `Host` header carries it; undefined for
 * anything else (userinfo, paths, spaces, empty names, ports beyond 65535).
 */
function parseAuthority(value: string): Authority | undefined {
  const text = value.trim().toLowerCase();
  let name: string;
  let port: string | undefined;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return undefined;
    name = text.slice(0, end + 1);
    const rest = text.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return undefined;
    port = rest === '' ? undefined : rest.slice(1);
    if (!IPV6.test(name)) return undefined;
  } else {
    const colon = text.indexOf(':');
    name = colon < 0 ? text : text.slice(0, colon);
    port = colon < 0 ? undefined : text.slice(colon + 1);
    if (!NAME.test(name)) return undefined;
  }
  if (port === undefined) return { name, port: undefined };
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65_535) return undefined;
  return { name, port: Number(port) };
}

/** An interface address as a `Host` name: IPv6 in brackets, lower case. */
function hostName(address: string): string {
  const name = address.trim().toLowerCase();
  return name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
}

/** What a listener is and which further names it answers to. */
export interface LocalAccessOptions {
  /** The interface it is bound to (`127.0.0.1`, `::1`, `0.0.0.0`, a name); its name is accepted like `localhost`. */
  host?: string;
  /** The port it listens on; when known, loopback names and the bound address must come with it. */
  port?: number;
  /** Further names it answers to: `name` (any port) or `name:port` (that port only). */
  allowedHosts?: readonly string[];
}

/**
 * Which `Host` and `Origin` values name this listener. Accepted: `localhost`, `127.0.0.1`,
 * `[::1]` and the bound address, each with the bound port (any port while the port is not
 * known), and every allow-list entry (`name` with any port, `name:port` with that one). Names
 * compare case-insensitively; anything else — a DNS-rebound name above all — is refused.
 */
export class HostPolicy {
  private readonly local: ReadonlySet<string>;
  private readonly port: number | undefined;
  private readonly allowed: readonly Authority[];

  constructor(options: LocalAccessOptions = {}) {
    this.port = options.port;
    this.local = new Set([...LOOPBACK_NAMES, ...(options.host ? [hostName(options.host)] : [])]);
    this.allowed = (options.allowedHosts ?? []).map((entry) => {
      const authority = parseAuthority(entry);
      if (!authority) throw new Error(`not a host name or host:port: "${entry}"`);
      return authority;
    });
  }

  /** Whether a `Host` header names this listener (a missing or malformed one does not). */
  allowsHost(value: string | undefined): boolean {
    const authority = value === undefined ? undefined : parseAuthority(value);
    // No port in Host means the scheme's default: 80 for the plain HTTP served here.
    return authority !== undefined && this.allows(authority.name, authority.port ?? 80);
  }

  /** Whether an `Origin` header is a page of this listener: http(s) and an allowed host; `null` never is. */
  allowsOrigin(value: string): boolean {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (url.username !== '' || url.password !== '' || (url.pathname !== '/' && url.pathname !== '')) return false;
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    return this.allows(url.hostname.toLowerCase(), port);
  }

  private allows(name: string, port: number): boolean {
    if (this.local.has(name) && (this.port === undefined || this.port === port)) return true;
    return this.allowed.some((entry) => entry.name === name && (entry.port === undefined || entry.port === port));
  }
}

/** Whether `value` is a valid allow-list entry (`name` or `name:port`, IPv6 in brackets). */
export function isHostEntry(value: string): boolean {
  return parseAuthority(value) !== undefined;
}

/**
 * A check of presented tokens against `token`. Both sides are hashed first, so the comparison
 * takes the same time whatever the presented token's length or content.
 */
export function tokenMatcher(token: string): (presented: string | undefined) => boolean {
  const expected = createHash('sha256').update(token).digest();
  return (presented) => {
    const digest = createHash('sha256')
      .update(presented ?? '')
      .digest();
    return timingSafeEqual(digest, expected) && presented !== undefined;
  };
}

/** The token of an `Authorization: Bearer <token>` header, if that is what it is. */
export function bearerOf(header: string | undefined): string | undefined {
  return /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1];
}
