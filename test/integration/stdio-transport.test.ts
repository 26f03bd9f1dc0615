// Our stdio transport against a real server process (the fixture, over the v2 SDK client): the
// first message of a turn of the event loop is written at once and the rest of that turn's in one
// write, and nothing is lost, reordered or held back by that: not a batch over the pipe's
// high-water mark, not a message sent as the transport closes.
import type { JSONRPCMessage } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { StdioProcessTransport } from '../../src/runtime/transports/stdio.js';
import { describePids, waitForNoDescendants } from '../support/processes.js';
import { waitUntil } from '../support/wait.js';

const open: StdioProcessTransport[] = [];

afterEach(async () => {
  for (const transport of open.splice(0)) await transport.close();
  const left = await waitForNoDescendants(5_000);
  expect(left, `leaked processes:\n${describePids(left)}`).toEqual([]);
});

/**
 * A transport to the fixture after the MCP handshake (by an SDK client), whose answers to the
 * requests this test sends itself (string ids `t-…`) are kept in `replies` instead of going to
 * the client.
 */
async function connected(): Promise<{ transport: StdioProcessTransport; replies: JSONRPCMessage[] }> {
  const transport = new StdioProcessTransport({ command: process.execPath, args: [fixtureServerPath, 'stdio'] });
  open.push(transport);
  await new Client({ name: 'stdio-transport-test', version: '1.0.0' }).connect(transport);
  const replies: JSONRPCMessage[] = [];
  const toClient = transport.onmessage!;
  transport.onmessage = (message) => {
    if ('id' in message && typeof message.id === 'string' && message.id.startsWith('t-')) replies.push(message);
    else toClient(message);
  };
  // A turn of its own: the handshake wrote in the turn connect() resolved in.
  await nextTurn();
  return { transport, replies };
}

const ping = (n: number): JSONRPCMessage => ({ jsonrpc: '2.0', id: `t-${n}`, method: 'ping' });
const echo = (n: number, message: string): JSONRPCMessage => ({
  jsonrpc: '2.0',
  id: `t-${n}`,
  method: 'tools/call',
  params: { name: 'echo', arguments: { message } },
});
const bytes = (message: JSONRPCMessage) => Buffer.byteLength(`${JSON.stringify(message)}\n`);
const idsOf = (replies: JSONRPCMessage[]) => replies.map((reply) => ('id' in reply ? reply.id : undefined));

/** Resolves in the check phase of the next turn: after this turn's immediates have run. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

describe('StdioProcessTransport', () => {
  it('writes the first message of a turn at once, holds the rest for one write, and every one is answered in order', async () => {
    const { transport, replies } = await connected();
    const stdin = transport.processGroup!.child.stdin!;
    const messages = Array.from({ length: 20 }, (_, i) => ping(i + 1));
    const sends = messages.map((message) => transport.send(message));
    // The first went to the pipe; the other nineteen wait in stdin's buffer.
    expect(stdin.writableCorked).toBe(1);
    expect(stdin.writableLength).toBe(messages.slice(1).reduce((sum, message) => sum + bytes(message), 0));
    await nextTurn();
    expect(stdin.writableCorked).toBe(0);
    await Promise.all(sends);
    await waitUntil(() => replies.length === 20, 5_000, () => `${replies.length} of 20 answered`);
    expect(idsOf(replies)).toEqual(messages.map((message) => ('id' in message ? message.id : undefined)));
  });

  it('sends a held batch as soon as it reaches the high-water mark: every send settles, no wait for drain is left behind', async () => {
    const { transport, replies } = await connected();
    const stdin = transport.processGroup!.child.stdin!;
    const text = 'x'.repeat(2_048);
    // Twenty 2 KiB calls in one turn: more than the 16 KiB a batch may hold.
    const messages = Array.from({ length: 20 }, (_, i) => echo(i + 1, text));
    expect(messages.reduce((sum, message) => sum + bytes(message), 0)).toBeGreaterThan(2 * stdin.writableHighWaterMark);
    const sends = messages.map((message) => transport.send(message));
    expect(stdin.writableLength).toBeLessThan(stdin.writableHighWaterMark);
    expect(stdin.listenerCount('drain')).toBeLessThanOrEqual(1);
    await Promise.all(sends);
    await waitUntil(() => replies.length === 20, 5_000, () => `${replies.length} of 20 answered`);
    expect(idsOf(replies)).toEqual(messages.map((message) => ('id' in message ? message.id : undefined)));
    expect(replies.every((reply) => 'result' in reply && JSON.stringify(reply.result).includes(text))).toBe(true);
    expect(stdin.listenerCount('drain')).toBe(0);
  });

  it('close() in the same turn as held sends, one over the high-water mark, settles every send and ends the child', async () => {
    const { transport } = await connected();
    const stdin = transport.processGroup!.child.stdin!;
    const big = 'y'.repeat(4 * stdin.writableHighWaterMark);
    const sends = [transport.send(ping(1)), transport.send(ping(2)), transport.send(echo(3, big))].map((send) =>
      send.then(
        () => 'sent',
        (error: Error) => error.message,
      ),
    );
    await transport.close();
    expect(transport.exit).toBeDefined();
    expect(await Promise.all(sends)).toEqual(['sent', 'sent', 'sent']);
  });
});
