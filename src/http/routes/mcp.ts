import { Hono } from 'hono';
import type { Context } from 'hono';
import type { Supervisor } from '../../fleet/supervisor.js';
import type { Gateway } from '../../gateway/http.js';
import type { AuditDetail } from '../audit.js';
import { noteAuditDetail } from '../audit.js';
import { principalOf } from '../auth.js';
import { ApiError } from '../errors.js';

/**
 * `/mcp` (the whole fleet, tools named `<server>__<tool>`) and `/mcp/:id` (one server, names
 * unchanged): the MCP endpoint, both protocol eras (src/gateway/http.ts). The front door has run
 * already (Host, Origin, token and role, body size, JSON depth); the body is read once here, named
 * in the audit record, and handed to the gateway parsed.
 */
export function mcpRoutes(gateway: Gateway, supervisor: Supervisor) {
  const app = new Hono();
  const serve = async (c: Context, scope: string): Promise<Response> => {
    let parsedBody: unknown;
    if (c.req.method === 'POST') {
      // Read (and kept) by the front door's JSON check already: the request's own body is used up,
      // so the gateway gets it parsed.
      const text = await c.req.text();
      try {
        parsedBody = JSON.parse(text);
      } catch {
        noteAuditDetail(c, { rpcMethod: 'invalid' });
        return c.json({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: the body is not JSON' }, id: null }, 400);
      }
      // One audit record names one tool call: a batch (2025-03-26 only) may not carry tool calls.
      if (Array.isArray(parsedBody) && parsedBody.some((message: unknown) => (message as { method?: unknown } | null)?.method === 'tools/call')) {
        noteAuditDetail(c, { rpcMethod: 'batch' });
        return c.json({ jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request: send tool calls one per request, not in a batch' }, id: null }, 400);
      }
      noteAuditDetail(c, auditDetailOf(parsedBody, scope, gateway));
    }
    const owner = principalOf(c)?.name;
    return gateway.fetch(c.req.raw, { scope, parsedBody, ...(owner === undefined ? {} : { owner }) });
  };
  app.all('/', (c) => serve(c, ''));
  app.all('/:id', (c) => {
    const id = c.req.param('id');
    // Only the servers this instance runs (in cluster mode too: /mcp aggregates this instance's fleet).
    if (!supervisor.has(id)) throw new ApiError(404, 'not_found', `no server ${JSON.stringify(id.slice(0, 128))} here`);
    return serve(c, id);
  });
  return app;
}

/** What the audit record says of a JSON-RPC body: its method, and for a tool call its server and the server's own tool name. */
function auditDetailOf(body: unknown, scope: string, gateway: Gateway): AuditDetail {
  if (Array.isArray(body)) return { rpcMethod: 'batch' };
  if (typeof body !== 'object' || body === null) return { rpcMethod: 'invalid' };
  const { method, params } = body as { method?: unknown; params?: { name?: unknown } };
  // A posted response (to a server's request) has no method.
  if (typeof method !== 'string') return { rpcMethod: 'response' };
  if (method !== 'tools/call' || typeof params?.name !== 'string') return { rpcMethod: method };
  const resolved = gateway.catalog.resolveTool(params.name, scope === '' ? undefined : scope);
  return resolved ? { rpcMethod: method, target: resolved.server, tool: resolved.name } : { rpcMethod: method, tool: params.name };
}
