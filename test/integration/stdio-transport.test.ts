// Our stdio transport against a real server process (the fixture, over the v2 SDK client): the
// first message of a turn of the event loop is written at once and the rest of that turn's in one
// write, and nothing is lost or held back by that — not a message over the pipe's high-water mark, not one sent as it closes.
import { Client } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureServerPath } from '../../fixtures/http-fixture.js';
import { StdioProcessTransport } from '../../src/runtime/transports/stdio.js';
import { describePids, waitForNoDescendants } from '../support/processes.js';

const open: StdioProcessTransport[] = [];

afterEach(async () => {
  for (const transport of open.splice(0)) await transport.close();
  const left = await waitForNoDescendants(5_000);
  expect(left, `leaked processes:\n${describePids(left)}`).toEqual([]);
});

async function connected(): Promise<{ client: Client; transport: StdioProcessTransport }> {
  const transport = new StdioProcessTransport({ command: process.execPath, args: [fixtureServerPath, 'stdio'] });
  open.push(transport);
  const client = new Client({ name: 'stdio-transport-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

/** Resolves in the check phase of the next turn: after this turn's immediates have run. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

describe('StdioProcessTransport', () => {
  it('writes the first message of a turn at once, holds the rest for one write, and every one is answered', async () => {
    const { client, transport } = await connected();
    const stdin = transport.processGroup!.child.stdin!;
    // A turn of its own: connect() wrote in the turn it resolved in.
    await nextTurn();
    const pings = Array.from({ length: 20 }, () => client.ping());
    // The first went to the pipe; the other nineteen wait in stdin's buffer.
    const ping = '{"jsonrpc":"2.0","id":0,"method":"ping"}\n'.length;
    expect(stdin.writableCorked).toBe(1);
    expect(stdin.writableLength).toBeGreaterThanOrEqual(19 * ping);
    expect(stdin.writableLength).toBeLessThan(20 * ping);
    await nextTurn();
    expect(stdin.writableCorked).toBe(0);
    await expect(Promise.all(pings)).resolves.toHaveLength(20);
  });

  it('delivers a message larger than the pipe high-water mark sent in the same turn as small ones', async () => {
    const { client, transport } = await connected();
    const stdin = transport.processGroup!.child.stdin!;
    const message = 'x'.repeat(4 * stdin.writableHighWaterMark);
    const before = client.ping();
    const echo = client.callTool({ name: 'echo', arguments: { message } });
    const after = client.ping();
    await Promise.all([before, after]);
    const result = await echo;
    expect(result.content).toEqual([{ type: 'text', text: message }]);
  });

  it('close() in the same turn as a send still ends the child, and the send settles', async () => {
    const { client, transport } = await connected();
    const ping = client.ping().then(
      () => 'answered',
      () => 'failed',
    );
    await transport.close();
    expect(transport.exit).toBeDefined();
    expect(['answered', 'failed']).toContain(await ping);
  });
});
