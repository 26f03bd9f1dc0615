import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.js';

/**
 * Requires `Authorization: Bearer <token>`. Both sides are hashed first so the comparison is
 * constant-time regardless of the presented token's length.
 */
export function bearerAuth(token: string): MiddlewareHandler {
  const expected = createHash('sha256').update(token).digest();
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    const presented = createHash('sha256').update(match?.[1] ?? '').digest();
    if (!match || !timingSafeEqual(presented, expected)) {
      c.header('WWW-Authenticate', 'Bearer realm="mcp-supervisor"');
      throw new ApiError(401, 'unauthorized', 'a valid "Authorization: Bearer <token>" header is required');
    }
    await next();
  };
}
