import type { McpSession } from '../../src/core/session.js';

/**
 * A session for scripted `connect` actors: answers every probe and call at once, closes at once.
 * `overrides` set what a test looks at (transport, pid, era, serverInfo, toJSON).
 */
export function fakeSession(overrides: Partial<McpSession> = {}): McpSession {
  return {
    transport: 'memory',
    pid: undefined,
    era: 'legacy',
    serverInfo: { name: 'fake', version: '0' },
    probe: async () => undefined,
    listTools: async () => [],
    callTool: async () => ({ content: [] }),
    onEvent: () => () => undefined,
    close: async () => undefined,
    toJSON: () => ({ session: 'fake' }),
    ...overrides,
  };
}
