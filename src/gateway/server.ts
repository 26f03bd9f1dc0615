// The fleet as one MCP server: a low-level SDK `Server` whose lists come from the FleetCatalog
// and whose calls ride through reconnects (src/fleet/ride.ts). One instance per HTTP request
// (modern), per legacy session, or per stdio connection; building one is cheap (seven handlers).
import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError, Server } from '@modelcontextprotocol/server';
import type { CallToolResult, ServerContext, Tool } from '@modelcontextprotocol/server';
import { validTraceContext } from '../core/trace-context.js';
import type { TraceContext } from '../core/trace-context.js';
import type { FleetCatalog } from '../fleet/catalog.js';
import { RideError, rideCall } from '../fleet/ride.js';
import type { Supervisor } from '../fleet/supervisor.js';

/** `_meta` key naming the server a gateway tool, prompt or resource belongs to. */
const SERVER_META_KEY = 'io.github.mcp-supervisor/server';
/** `_meta` key naming a gateway tool's or prompt's own name on its server. */
const NAME_META_KEY = 'io.github.mcp-supervisor/tool';
/** `_meta` key of a gateway failure's details (code, server, state) on an `isError` result. */
const ERROR_META_KEY = 'io.github.mcp-supervisor/error';

/**
 * What the gateway serves: `''` is the whole fleet (tools named `<server>__<tool>`), a server id
 * that one server alone (names unchanged).
 */
export type GatewayScope = string;

/** What {@link GatewayServers} is built from. */
export interface GatewayServersOptions {
  /** The fleet calls go to. */
  supervisor: Supervisor;
  /** What is advertised and how exposed names resolve. */
  catalog: FleetCatalog;
  /** The version the gateway reports in its server info; default `0.0.0`. */
  version?: string;
}

/** Makes the gateway's SDK `Server` instances, one per serving unit. */
export class GatewayServers {
  /** The fleet calls go to. */
  readonly supervisor: Supervisor;
  /** What is advertised and how exposed names resolve. */
  readonly catalog: FleetCatalog;
  private readonly version: string;

  constructor(options: GatewayServersOptions) {
    this.supervisor = options.supervisor;
    this.catalog = options.catalog;
    this.version = options.version ?? '0.0.0';
  }

  /** A fresh `Server` for one scope, with every handler registered and list-changed capabilities. */
  create(scope: GatewayScope): Server {
    const server = new Server(
      { name: scope === '' ? 'mcp-supervisor' : `mcp-supervisor/${scope}`, version: this.version },
      {
        // Every capability declared needs its handler (the low-level Server's rule); listChanged
        // so that modern listen streams honour the clients' opt-ins and legacy clients expect notices.
        capabilities: { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true } },
        instructions:
          scope === ''
            ? 'The tools, prompts and resources of every healthy server this mcp-supervisor runs; tool and prompt names are <server>__<name>.'
            : `The tools, prompts and resources of the server "${scope}", kept alive by mcp-supervisor.`,
      },
    );
    const catalogScope = scope === '' ? undefined : scope;
    const { catalog, supervisor } = this;

    server.setRequestHandler('tools/list', () => ({
      tools: catalog.tools(catalogScope).map(({ server: id, exposed, item }) => exposedTool(id, exposed, item, scope === '')),
    }));

    server.setRequestHandler('tools/call', async (request, ctx) => {
      const { name, arguments: args } = request.params;
      const resolved = catalog.resolveTool(name, catalogScope);
      if (resolved === undefined) throw new ProtocolError(ProtocolErrorCode.InvalidParams, unknownMessage('tool', name, scope));
      const hints = resolved.tool.annotations;
      try {
        const result = await rideCall(supervisor, resolved.server, resolved.name, args ?? {}, {
          via: 'mcp',
          retryable: hints?.readOnlyHint === true || hints?.idempotentHint === true,
          signal: ctx.mcpReq.signal,
          traceContext: traceContextOf(ctx),
        });
        return server.projectCallToolResult(result as CallToolResult, resolved.tool.outputSchema as Record<string, unknown> | undefined);
      } catch (error) {
        return failedCall(resolved.server, resolved.name, error);
      }
    });

    server.setRequestHandler('prompts/list', () => ({
      prompts: catalog.prompts(catalogScope).map(({ server: id, exposed, item }) => ({
        ...item,
        name: exposed,
        _meta: { ...item._meta, [SERVER_META_KEY]: id, [NAME_META_KEY]: item.name },
      })),
    }));

    server.setRequestHandler('prompts/get', async (request, ctx) => {
      const resolved = catalog.resolvePrompt(request.params.name, catalogScope);
      if (resolved === undefined) throw new ProtocolError(ProtocolErrorCode.InvalidParams, unknownMessage('prompt', request.params.name, scope));
      try {
        return await supervisor.getPrompt(resolved.server, resolved.name, request.params.arguments, { signal: ctx.mcpReq.signal });
      } catch (error) {
        throw upstreamError(resolved.server, error);
      }
    });

    server.setRequestHandler('resources/list', () => ({
      // `exposed` is the server's own URI, unless two servers offer the same one (then an mcp-supervisor:// form reads resolve).
      resources: catalog.resources(catalogScope).map(({ server: id, exposed, item }) => ({ ...item, uri: exposed, _meta: { ...item._meta, [SERVER_META_KEY]: id } })),
    }));

    server.setRequestHandler('resources/templates/list', () => ({
      resourceTemplates: catalog.resourceTemplates(catalogScope).map(({ server: id, item }) => ({ ...item, _meta: { ...item._meta, [SERVER_META_KEY]: id } })),
    }));

    server.setRequestHandler('resources/read', async (request, ctx) => {
      const resolved = catalog.resolveResource(request.params.uri, catalogScope);
      if (resolved === undefined) throw new ResourceNotFoundError(request.params.uri, `no healthy server here offers the resource ${JSON.stringify(request.params.uri)}`);
      try {
        return await supervisor.readResource(resolved.server, resolved.uri, { signal: ctx.mcpReq.signal });
      } catch (error) {
        throw upstreamError(resolved.server, error);
      }
    });
    return server;
  }
}

/** A catalog tool as the gateway lists it: its own schema, hints and description; its origin in `title` and `_meta`. */
function exposedTool(server: string, exposed: string, tool: Tool, fleet: boolean): Tool {
  const title = tool.title ?? tool.annotations?.title ?? tool.name;
  return {
    ...tool,
    name: exposed,
    title: fleet ? `${title} (${server})` : title,
    _meta: { ...tool._meta, [SERVER_META_KEY]: server, [NAME_META_KEY]: tool.name },
  };
}

function unknownMessage(kind: 'tool' | 'prompt', name: string, scope: GatewayScope): string {
  const where = scope === '' ? 'this mcp-supervisor' : `server "${scope}"`;
  return `unknown ${kind} ${JSON.stringify(name.slice(0, 200))}: no server of ${where} offers it (list the ${kind}s again)`;
}

/** The caller's trace context: the request's `_meta` (SEP-414), else its HTTP `traceparent` header. */
function traceContextOf(ctx: ServerContext): TraceContext | undefined {
  const meta = ctx.mcpReq._meta as Record<string, unknown> | undefined;
  const fromMeta = typeof meta?.traceparent === 'string' ? validTraceContext(meta.traceparent, typeof meta.tracestate === 'string' ? meta.tracestate : undefined) : undefined;
  if (fromMeta) return fromMeta;
  const headers = ctx.http?.req?.headers;
  return headers ? validTraceContext(headers.get('traceparent'), headers.get('tracestate')) : undefined;
}

/**
 * A call the gateway could not complete, as a tool error the model can read: which server, in
 * what state, and why (never a JSON-RPC error: the client asked for a known tool).
 */
function failedCall(server: string, tool: string, error: unknown): CallToolResult {
  if (error instanceof RideError) {
    // The ride's messages name the server, the tool and the reason already; the state is added when they do not say it.
    const state = error.state === undefined || error.message.includes(error.state) ? '' : ` (server "${server}" is ${error.state})`;
    return {
      isError: true,
      content: [{ type: 'text', text: `mcp-supervisor: ${error.message}${state}` }],
      _meta: { [ERROR_META_KEY]: { code: error.code, server, ...(error.state === undefined ? {} : { state: error.state }), retried: error.retried } },
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    isError: true,
    content: [{ type: 'text', text: `mcp-supervisor: the call to ${tool} on server "${server}" failed: ${message}` }],
    _meta: { [ERROR_META_KEY]: { code: 'upstream_error', server } },
  };
}

/** A prompt or resource request that failed on its server, as a JSON-RPC error naming it. */
function upstreamError(server: string, error: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ProtocolError(ProtocolErrorCode.InternalError, `server "${server}": ${message}`);
}
