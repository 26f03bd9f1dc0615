// CallClient hands `tools/call` the SDK's own result validator without the SDK's per-request zod
// probe (src/runtime/call-client.ts). Pinned against the SDK's own client, on a server that sends
// what it is told, in both eras: the same results, the same refusals of a malformed result or
// structured content, the same behaviour of every other request. (Whether the override is used at
// all no test can tell, by design: it must behave as the SDK does; the bench shows the saving.)
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import type { ClientOptions } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CallClient } from '../../../src/runtime/call-client.js';

const TOOLS = [
  { name: 'plain', inputSchema: { type: 'object' } },
  { name: 'typed', inputSchema: { type: 'object' }, outputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] } },
];

type Era = 'legacy' | 'modern';

/**
 * A hand-written server on one end of an in-memory pair, either era (the client's negotiation
 * picks: `initialize` or `server/discover`): it answers `tools/call` with whatever `answer` gives,
 * unchecked (the SDK's own server would refuse to send a malformed result).
 */
function server(transport: InMemoryTransport, answer: () => unknown): void {
  transport.onmessage = (message) => {
    if (!('id' in message) || !('method' in message)) return;
    const reply = (result: unknown): void => void transport.send({ jsonrpc: '2.0', id: message.id, result } as never);
    if (message.method === 'initialize') {
      const { protocolVersion } = message.params as { protocolVersion: string };
      reply({ protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'call-client', version: '1.0.0' } });
    } else if (message.method === 'server/discover') {
      reply({ resultType: 'complete', supportedVersions: ['2026-07-28'], capabilities: { tools: {} }, ttlMs: 0, cacheScope: 'private' });
    } else if (message.method === 'tools/list') reply({ tools: TOOLS });
    else if (message.method === 'tools/call') reply(answer());
    else reply({});
  };
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** The SDK's client and ours, each connected to its own copy of the same server. */
async function pair(answer: () => unknown, era: Era = 'legacy'): Promise<[Client, CallClient]> {
  const connect = async <C extends Client>(client: C): Promise<C> => {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    server(serverSide, answer);
    await serverSide.start();
    await client.connect(clientSide);
    open.push(client);
    return client;
  };
  const options: ClientOptions = { versionNegotiation: era === 'legacy' ? { mode: 'legacy' } : { mode: { pin: '2026-07-28' } } };
  const clients: [Client, CallClient] = [await connect(new Client({ name: 'sdk', version: '0' }, options)), await connect(new CallClient({ name: 'ours', version: '0' }, options))];
  for (const client of clients) expect(client.getProtocolEra()).toBe(era);
  return clients;
}

/** How a promise settled: its value, or its error's class and message. */
async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error: (error as Error).constructor.name, message: (error as Error).message };
  }
}

describe('CallClient', () => {
  it('answers a tool call as the SDK client does', async () => {
    const [sdk, ours] = await pair(() => ({ content: [{ type: 'text', text: 'hi' }], extra: 1 }));
    const expected = await outcome(sdk.callTool({ name: 'plain', arguments: {} }));
    expect(expected).toEqual({ value: { content: [{ type: 'text', text: 'hi' }], extra: 1 } });
    expect(await outcome(ours.callTool({ name: 'plain', arguments: {} }))).toEqual(expected);
  });

  it('refuses a malformed result with the SDK client\'s error', async () => {
    const [sdk, ours] = await pair(() => ({ content: 'not a list' }));
    const expected = (await outcome(sdk.callTool({ name: 'plain', arguments: {} }))) as { error?: string; message?: string };
    expect(expected.error).toBeDefined();
    expect(expected.message).toMatch(/content/);
    expect(await outcome(ours.callTool({ name: 'plain', arguments: {} }))).toEqual(expected);
  });

  it('still checks structured content against the tool\'s output schema', async () => {
    const [sdk, ours] = await pair(() => ({ content: [], structuredContent: { n: 'five' } }));
    await sdk.listTools();
    await ours.listTools();
    const expected = (await outcome(sdk.callTool({ name: 'typed', arguments: {} }))) as { message?: string };
    expect(expected.message).toMatch(/output schema/);
    expect(await outcome(ours.callTool({ name: 'typed', arguments: {} }))).toEqual(expected);
  });

  // Results the SDK's client reshapes (a legacy `{}` gets `content: []`) or refuses, in each era:
  // the modern era takes non-object structured content the legacy one does not.
  it.each([
    ['legacy', {}],
    ['modern', { resultType: 'complete' }],
    ['modern', { resultType: 'complete', content: 'x' }],
    ['modern', { resultType: 'complete', content: [], structuredContent: [1, 2] }],
  ] as const)('%s era: %j comes out as from the SDK client', async (era, answer) => {
    const [sdk, ours] = await pair(() => answer, era);
    expect(await outcome(ours.callTool({ name: 'plain', arguments: {} }))).toEqual(await outcome(sdk.callTool({ name: 'plain', arguments: {} })));
  });

  it('passes other requests through: spec methods, and an explicit result schema', async () => {
    const [sdk, ours] = await pair(() => ({ content: 'x' }));
    expect(await ours.listTools()).toEqual(await sdk.listTools());
    expect(await ours.request({ method: 'ping' }, z.looseObject({}))).toEqual(await sdk.request({ method: 'ping' }, z.looseObject({})));
    // A tool call with a schema of the caller's own is validated by that schema alone (the
    // era's would refuse a string `content`).
    expect(await ours.request({ method: 'tools/call', params: { name: 'plain', arguments: {} } }, z.object({ content: z.string() }))).toEqual({ content: 'x' });
  });
});
