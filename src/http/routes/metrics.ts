import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Hook } from '@hono/zod-openapi';
import type { Env } from 'hono';
import type { AppDeps } from '../deps.js';
import type { MetricsSource } from '../../observe/metrics.js';
import { createMetrics } from '../../observe/metrics.js';

/**
 * `/metrics`: the Prometheus text exposition. Uses `deps.metrics` when given (the CLI creates it
 * right after the supervisor so startup is counted), else metrics created here for this app.
 */
export function metricsRoutes(deps: AppDeps, defaultHook: Hook<unknown, Env, string, unknown>) {
  const metrics: MetricsSource = deps.metrics ?? createMetrics(deps.supervisor);
  const app = new OpenAPIHono({ defaultHook });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['metrics'],
      summary: 'Prometheus metrics',
      description:
        'Per server: mcp_connection_state (the current state only), mcp_connection_info, mcp_quarantined (while quarantined), ' +
        'mcp_reconnect_attempts_total, mcp_tool_calls_total, mcp_tool_call_duration_seconds, mcp_gateway_calls_total, mcp_process_*. For the fleet: ' +
        'mcp_connections (by state), mcp_transitions_total, mcp_probes_total, mcp_probe_duration_seconds, mcp_reconnect_slots_in_use, ' +
        'mcp_panic_active, mcp_metrics_events_dropped_total; and the Node process metrics.',
      responses: {
        200: {
          content: { 'text/plain': { schema: z.string().openapi({ description: 'Prometheus text format 0.0.4' }) } },
          description: 'the metrics in Prometheus text format',
        },
      },
    }),
    async (c) => {
      const text = await metrics.render();
      return c.text(text, 200, { 'Content-Type': metrics.contentType });
    },
  );

  return app;
}
