import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { waitFor } from 'xstate';
import { definitionFromEntry } from '../../config/load.js';
import { connectionStateOf } from '../../machines/connection.machine.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import {
  ActorDetailSchema,
  ActorViewSchema,
  CommandSchema,
  ErrorSchema,
  IdParamSchema,
  LogsQuerySchema,
  NewServerSchema,
  ToolCallQuerySchema,
} from '../schemas.js';
import { actorDetail } from '../views.js';
import type { Hook } from '@hono/zod-openapi';
import type { Env } from 'hono';

const DEFAULT_CALL_TIMEOUT_MS = 60_000;
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, { content: { 'application/json': { schema: ErrorSchema } }, description: 'error' }]));
const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });

/** `/actors`: every connection actor, its commands, its tools and its logs. */
export function actorRoutes(deps: AppDeps, defaultHook: Hook<unknown, Env, string, unknown>) {
  const { supervisor } = deps;
  const app = new OpenAPIHono({ defaultHook });

  app.openapi(
    createRoute({ method: 'get', path: '/', tags: ['actors'], responses: { 200: json(z.object({ actors: z.array(ActorViewSchema) }), 'every actor') } }),
    (c) => c.json({ actors: supervisor.views() }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['actors'],
      request: { params: IdParamSchema },
      responses: { 200: json(ActorDetailSchema, 'one actor with its snapshot and history'), ...errors(404) },
    }),
    (c) => c.json(actorDetail(supervisor, c.req.valid('param').id) as never, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['actors'],
      request: { body: { content: { 'application/json': { schema: NewServerSchema } }, required: true } },
      responses: { 201: json(ActorViewSchema, 'registered and persisted'), ...errors(400, 409) },
    }),
    async (c) => {
      const { id, ...entry } = c.req.valid('json');
      const definition = definitionFromEntry(id, entry, deps.persistence?.supervisorHealth(), supervisor.ids());
      supervisor.add(definition);
      try {
        await deps.persistence?.add(id, entry);
      } catch (error) {
        // Keep the running fleet and the file in agreement: a server we could not persist is not kept.
        await supervisor.remove(id).catch(() => undefined);
        throw error;
      }
      return c.json(supervisor.view(id), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/{id}',
      tags: ['actors'],
      request: { params: IdParamSchema },
      responses: { 200: json(z.object({ removed: z.string() }), 'stopped, removed and persisted'), ...errors(404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await supervisor.remove(id);
      await deps.persistence?.remove(id);
      return c.json({ removed: id }, 200);
    },
  );

  // Registered before `/{id}/{command}` so `probe` is not taken for an unknown command.
  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/probe',
      tags: ['commands'],
      request: { params: IdParamSchema },
      responses: {
        200: json(
          z.object({ id: z.string(), kind: z.string(), outcome: z.string(), latencyMs: z.number().nullable(), at: z.number(), state: z.string() }),
          'the result of one health check run now',
        ),
        ...errors(404, 503, 504),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const result = await supervisor.probe(id);
      return c.json(
        { id, kind: result.kind, outcome: result.outcome, latencyMs: result.latencyMs ?? null, at: result.at, state: supervisor.state(id) },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/{command}',
      tags: ['commands'],
      request: { params: IdParamSchema.extend({ command: CommandSchema.openapi({ param: { name: 'command', in: 'path' } }) }) },
      responses: { 202: json(z.object({ id: z.string(), command: CommandSchema, state: z.string() }), 'command sent'), ...errors(404) },
    }),
    (c) => {
      const { id, command } = c.req.valid('param');
      if (command === 'reconnect') supervisor.restart(id);
      else supervisor.command(id, command);
      return c.json({ id, command, state: supervisor.state(id) }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/tools',
      tags: ['tools'],
      request: { params: IdParamSchema },
      responses: {
        200: json(z.object({ tools: z.array(z.record(z.string(), z.unknown())), cachedAt: z.number() }), 'the server tools'),
        ...errors(404, 503),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const cached = supervisor.cachedTools(id);
      if (cached) return c.json({ tools: cached.tools, cachedAt: cached.at } as never, 200);
      const tools = await supervisor.listTools(id);
      return c.json({ tools, cachedAt: supervisor.cachedTools(id)?.at ?? Date.now() } as never, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/tools/{name}',
      tags: ['tools'],
      request: {
        params: IdParamSchema.extend({ name: z.string().min(1).openapi({ param: { name: 'name', in: 'path' }, example: 'echo' }) }),
        query: ToolCallQuerySchema,
      },
      responses: {
        200: json(z.record(z.string(), z.unknown()), 'the tool result; `isError` results pass through'),
        ...errors(400, 404, 502, 503, 504),
      },
    }),
    async (c) => {
      const { id, name } = c.req.valid('param');
      const { timeoutMs, waitForReady } = c.req.valid('query');
      const args = await readArguments(c.req.raw);
      if (waitForReady) await waitUntilServing(deps, id, waitForReady);
      const result = await supervisor.callTool(id, name, args, { timeoutMs: timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS, signal: c.req.raw.signal });
      return c.json(result as never, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/logs',
      tags: ['actors'],
      request: { params: IdParamSchema, query: LogsQuerySchema },
      responses: {
        200: json(z.object({ lines: z.array(z.object({ at: z.number(), stream: z.string(), text: z.string() })) }), 'recent output'),
        ...errors(404),
      },
    }),
    (c) => c.json({ lines: supervisor.logs(c.req.valid('param').id, c.req.valid('query').lines ?? 100) }, 200),
  );

  return app;
}

/** The body is the tool's arguments: a JSON object, or nothing at all. */
async function readArguments(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, 'invalid_request', `body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ApiError(400, 'invalid_request', 'body must be a JSON object of tool arguments');
  }
  return parsed as Record<string, unknown>;
}

async function waitUntilServing(deps: AppDeps, id: string, timeoutMs: number): Promise<void> {
  const ref = deps.supervisor.connection(id);
  const serving = (state: string): boolean => state === 'healthy' || state === 'degraded';
  try {
    await waitFor(ref, (snapshot) => serving(connectionStateOf(snapshot)), { timeout: timeoutMs });
  } catch {
    // Not ready in time: the call below answers 503 with the state it is in.
  }
}
