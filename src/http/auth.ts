import type { Context, MiddlewareHandler } from 'hono';
import { bearerOf } from '../observe/local-access.js';
import { roleAllows, TokenSet } from '../observe/tokens.js';
import type { Principal } from '../observe/tokens.js';
import type { AppDeps } from './deps.js';
import { accessOf } from './access.js';
import { ApiError } from './errors.js';

/** Who made a request, as the token middleware found it: kept per request for the audit trail. */
// Keyed by the request's Context: middleware (the body limits) may replace `c.req.raw`.
const principals = new WeakMap<Context, Principal>();

/** The holder of the request's token; undefined without tokens configured or before authentication. */
export function principalOf(c: Context): Principal | undefined {
  return principals.get(c);
}

/** The tokens an app accepts: `deps.token` (an admin token named "default") and `deps.tokens`. */
export function tokenSetOf(deps: Pick<AppDeps, 'token' | 'tokens'>): TokenSet {
  return TokenSet.of(deps.token, deps.tokens);
}

/**
 * Requires `Authorization: Bearer <token>` naming one of `tokens` (401 otherwise), whose role may
 * make this request (403 `forbidden_role` naming the role it needs otherwise; src/http/access.ts).
 */
export function bearerAuth(tokens: TokenSet): MiddlewareHandler {
  return async (c, next) => {
    const principal = tokens.identify(bearerOf(c.req.header('authorization')));
    if (principal === undefined) {
      c.header('WWW-Authenticate', 'Bearer realm="mcp-supervisor"');
      throw new ApiError(401, 'unauthorized', 'a valid "Authorization: Bearer <token>" header is required');
    }
    principals.set(c, principal);
    const { role } = accessOf(c.req.method, c.req.path);
    if (!roleAllows(principal.role, role)) {
      throw new ApiError(403, 'forbidden_role', `this request needs the "${role}" role; token "${principal.name}" has "${principal.role}"`, {
        required: role,
        role: principal.role,
      });
    }
    await next();
  };
}
