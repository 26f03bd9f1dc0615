import { OpenAPIHono } from '@hono/zod-openapi';
import type { Hook } from '@hono/zod-openapi';
import type { Env, MiddlewareHandler } from 'hono';
import { AuditTrail } from '../observe/audit.js';
import { auditRequests, noteErrorCode } from './audit.js';
import { bearerAuth, tokenSetOf } from './auth.js';
import type { AppDeps } from './deps.js';
import { ApiError, toErrorResponse } from './errors.js';
import { forwardToOwner } from './forward.js';
import { bodyLimits, fleetLimit, jsonBodies, localOnly, resolveLimits, StreamSlots } from './guards.js';
import { actorRoutes } from './routes/actors.js';
import { auditRoutes } from './routes/audit.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { docsRoutes, isDocsPath } from './routes/docs.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { mcpRoutes } from './routes/mcp.js';
import { whoamiRoutes } from './routes/whoami.js';

/** Validation failures become one 400 that names every bad field. */
const defaultHook: Hook<unknown, Env, string, unknown> = (result) => {
  if (result.success) return;
  const issues = result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  throw new ApiError(400, 'invalid_request', issues.map((issue) => `${issue.path || '(body)'}: ${issue.message}`).join('; '), { issues });
};

/**
 * The HTTP API of docs/design.md §5 as a Hono app. Nothing here listens: `@hono/node-server` serves it
 * in the CLI, and tests call `app.request()`.
 *
 * @example
 * ```ts
 * import { serve } from '@hono/node-server';
 * const supervisor = createSupervisor(await loadConfigFile('mcp.json'));
 * const app = createApp({ supervisor, token: process.env.MCP_SUPERVISOR_TOKEN });
 * const response = await app.request('/actors'); // in tests; or serve it:
 * serve({ fetch: app.fetch, port: 7411, hostname: '127.0.0.1' });
 * ```
 */
export function createApp(appDeps: AppDeps) {
  const app = new OpenAPIHono({ defaultHook });
  // Every app records its state-changing requests; without a trail given, in memory only.
  const deps: AppDeps = appDeps.audit ? appDeps : { ...appDeps, audit: new AuditTrail() };

  app.onError((error, c) => {
    const { status, body } = toErrorResponse(error);
    noteErrorCode(c, body.error.code);
    // 502/503/504 are answers about a server's state, not faults of ours.
    if (status === 500) deps.logger?.error({ err: error, path: c.req.path }, 'request failed');
    else if (status >= 500) deps.logger?.debug({ path: c.req.path, code: body.error.code }, body.error.message);
    return c.json(body, status);
  });
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404));

  // The front door (docs/security.md), in order: is this request for us at all (Host, Origin),
  // may it ask (token), may it ask that much (fleet size, media type, body size, JSON depth).
  const limits = resolveLimits(deps.limits);
  app.use('*', localOnly({ host: deps.host, port: deps.port, allowedHosts: deps.allowedHosts }));
  // Before the token check, so that refused requests are recorded too.
  app.use('*', auditRequests(deps.audit!));
  const tokens = tokenSetOf(deps);
  if (tokens.size > 0) {
    const auth = bearerAuth(tokens);
    // The dashboard and docs pages hold no data: they load without a token and ask for one.
    const page = (path: string) => path === '/' || isDocsPath(path);
    const open = (path: string, method: string) => path === '/health' || (page(path) && (method === 'GET' || method === 'HEAD'));
    app.use('*', async (c, next) => (open(c.req.path, c.req.method) ? next() : auth(c, next)));
  }
  app.use('*', fleetLimit(deps.supervisor, limits.maxServers));
  app.use('*', bodyLimits(limits));
  app.use('*', jsonBodies(limits));
  // After the front door: a forwarded request has passed every check here, and passes them again at its owner.
  if (deps.cluster) app.use('/actors/*', forwardToOwner(deps.supervisor, deps.cluster));
  const streams = new StreamSlots(limits.maxEventClients);
  // A HEAD of an event stream gets its headers and no stream: a stream opened for a HEAD is never
  // read nor cancelled, so it would hold one of `streams`' slots for good. (Hono routes a HEAD as
  // a GET and drops the body, so this looks at the request's own method.)
  const headOfStream: MiddlewareHandler = async (c, next) => {
    const follow = c.req.query('follow');
    if (c.req.raw.method !== 'HEAD' || (c.req.path !== '/events' && follow !== '1' && follow !== 'true')) return next();
    return c.body(null, 200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  };
  app.use('/events', headOfStream);
  app.use('/actors/:id/logs', headOfStream);

  app.route('/actors', actorRoutes(deps, defaultHook, streams));
  app.route('/health', healthRoutes(deps, defaultHook));
  app.route('/metrics', metricsRoutes(deps, defaultHook));
  app.route('/events', eventRoutes(deps, defaultHook, streams));
  app.route('/whoami', whoamiRoutes(defaultHook));
  if (deps.gateway) app.route('/mcp', mcpRoutes(deps.gateway, deps.supervisor));
  app.route('/audit', auditRoutes(deps.audit!, defaultHook));
  app.route('/', dashboardRoutes());
  app.route('/', docsRoutes());

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'mcp-supervisor', version: deps.version ?? '0.0.0', description: 'Every MCP connection actor, its health and its commands.' },
    security: tokens.size > 0 ? [{ bearer: [] }] : [],
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  return app;
}

/** The Hono app {@link createApp} returns: serve it with `@hono/node-server`, or call `app.request()`. */
export type App = ReturnType<typeof createApp>;
