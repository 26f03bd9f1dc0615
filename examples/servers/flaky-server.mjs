#!/usr/bin/env node
// An MCP server over stdio that misbehaves on a schedule, so a newcomer running `npm start`
// sees every connection state within a minute: answers fast, then slowly (degraded), then
// not at all while its process stays alive (zombie: the supervisor kills and restarts it).
// Phases (seconds, repeating per process): FLAKY_FAST=10, FLAKY_SLOW=8, FLAKY_FREEZE after.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const fastMs = Number(process.env.FLAKY_FAST ?? 10) * 1000;
const slowMs = Number(process.env.FLAKY_SLOW ?? 8) * 1000;
const slowLatencyMs = Number(process.env.FLAKY_LATENCY_MS ?? 600);
const startedAt = Date.now();

function phase() {
  const elapsed = Date.now() - startedAt;
  if (elapsed < fastMs) return 'fast';
  if (elapsed < fastMs + slowMs) return 'slow';
  return 'frozen';
}

const server = new McpServer({ name: 'flaky-example', version: '1.0.0' });
server.registerTool(
  'echo',
  { description: 'Echoes the message back', inputSchema: { message: z.string() } },
  async ({ message }) => ({ content: [{ type: 'text', text: message }] }),
);
server.registerTool('phase', { description: 'Tells which phase the server is in' }, async () => ({
  content: [{ type: 'text', text: phase() }],
}));

const transport = new StdioServerTransport();
const send = transport.send.bind(transport);
// Delaying or withholding every reply (the SDK answers ping itself) is what a slow or hung server looks like.
transport.send = async (message) => {
  const current = phase();
  if (current === 'frozen') return new Promise(() => {});
  if (current === 'slow') await new Promise((resolve) => setTimeout(resolve, slowLatencyMs));
  return send(message);
};
await server.connect(transport);
process.stderr.write(`flaky-example: fast for ${fastMs} ms, slow for ${slowMs} ms, then frozen\n`);
