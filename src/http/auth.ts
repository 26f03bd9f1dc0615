import type { MiddlewareHandler } from 'hono';
import { bearerOf, tokenMatcher } from '../observe/local-access.js';
import { ApiError } from './errors.js';

/**
 * Requires `Authorization: Bearer <token>`. Both sides are hashed first so the comparison is
 * constant-time regardless of the presented token's length.
 */
export function bearerAuth(token: string): MiddlewareHandler {
  const matches = tokenMatcher(token);
  return async (c, next) => {
    if (!matches(bearerOf(c.req.header('authorization')))) {
      c.header('WWW-Authenticate', 'Bearer realm="mcp-supervisor"');
      throw new ApiError(401, 'unauthorized', 'a valid "Authorization: Bearer <token>" header is required');
    }
    await next();
  };
}
