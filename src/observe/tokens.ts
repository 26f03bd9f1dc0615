// API tokens with roles (docs/operations.md). Shared by the HTTP API and the inspector bridge: both
// identify a presented bearer token the same way, and neither keeps a token in clear.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Role } from '../config/load.js';

export type { Role };

/** The roles, weakest first: each may do everything the ones before it may. */
const ORDER: Readonly<Record<Role, number>> = { viewer: 0, operator: 1, admin: 2 };

/** Whether `role` may do what `needed` may. */
export function roleAllows(role: Role, needed: Role): boolean {
  return ORDER[role] >= ORDER[needed];
}

/** One token as a config or an embedding app gives it: its name, its role, and the token in clear or as its sha256 (hex). */
export interface TokenSpec {
  /** Who holds it: the audit trail names them so. */
  name: string;
  /** What it may do. */
  role: Role;
  /** The token in clear. */
  token?: string;
  /** The token's sha256 in hex, when the config holds no secret. */
  sha256?: string;
}

/** Who presented a valid token. */
export interface Principal {
  /** The token's name. */
  readonly name: string;
  /** Its role. */
  readonly role: Role;
}

/** The name the single `--token` / `MCP_SUPERVISOR_TOKEN` / `supervisor.token` gets: it is an admin token. */
const SINGLE_TOKEN_NAME = 'default';

const digestOf = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * The tokens an API accepts. Only their sha256 digests are kept. A presented token is hashed once
 * and compared with every digest in constant time, so neither its length nor which token it
 * matches shows in the time taken.
 */
export class TokenSet {
  private readonly entries: ReadonlyArray<{ principal: Principal; digest: Buffer }>;

  constructor(specs: readonly TokenSpec[]) {
    this.entries = specs.map((spec) => {
      const digest = spec.sha256 !== undefined ? Buffer.from(spec.sha256, 'hex') : digestOf(spec.token ?? '');
      if (digest.length !== 32 || (spec.sha256 === undefined && !spec.token)) throw new TypeError(`token "${spec.name}": give a token or its 64-hex-digit sha256`);
      return { principal: Object.freeze({ name: spec.name, role: spec.role }), digest };
    });
  }

  /** The single token of `--token` or `supervisor.token` together with `supervisor.tokens`. */
  static of(single: string | undefined, specs: readonly TokenSpec[] = []): TokenSet {
    return new TokenSet([...(single === undefined ? [] : [{ name: SINGLE_TOKEN_NAME, role: 'admin' as const, token: single }]), ...specs]);
  }

  /** Whether any token is configured (when none is, the API is open: it is bound to loopback). */
  get size(): number {
    return this.entries.length;
  }

  /** Who holds `presented`, or undefined when it is no token of this set. */
  identify(presented: string | undefined): Principal | undefined {
    if (presented === undefined) return undefined;
    const digest = digestOf(presented);
    let found: Principal | undefined;
    for (const entry of this.entries) if (timingSafeEqual(digest, entry.digest) && found === undefined) found = entry.principal;
    return found;
  }
}
