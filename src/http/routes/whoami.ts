import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Hook } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { principalOf } from '../auth.js';

const WhoamiSchema = z
  .object({
    authenticated: z.boolean().openapi({ description: 'false when the API has no tokens configured (then every request may do everything)' }),
    name: z.string().nullable().openapi({ description: "the token's name; null without tokens" }),
    role: z.enum(['viewer', 'operator', 'admin']).openapi({ description: 'what this token may do; `admin` without tokens' }),
  })
  .openapi('Whoami');

/**
 * `GET /whoami`: the name and role of the presented token, so that a client (the dashboard) shows
 * only what that role may do. The token itself is never echoed.
 */
export function whoamiRoutes(defaultHook: Hook<unknown, Env, string, unknown>) {
  const app = new OpenAPIHono({ defaultHook });
  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['auth'],
      summary: "the presented token's name and role",
      responses: { 200: { content: { 'application/json': { schema: WhoamiSchema } }, description: 'who is asking' } },
    }),
    (c) => {
      const principal = principalOf(c);
      return c.json(principal ? { authenticated: true, name: principal.name, role: principal.role } : { authenticated: false, name: null, role: 'admin' as const }, 200);
    },
  );
  return app;
}
