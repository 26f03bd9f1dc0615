import type { ListKind, McpSession } from '../core/session.js';

/**
 * Relays every server's own `list_changed` notices to the supervisor's listeners. Each serving
 * session is followed while someone listens: no listener, no subscription (a modern stdio
 * session opens a listen stream for its first one, so nobody pays for what nobody hears).
 */
export class ListChanges {
  private readonly listeners = new Set<(id: string, kind: ListKind) => void>();
  private readonly followed = new Map<string, { session: McpSession; off: () => void }>();

  /** `sessionOf(id)`: the server's session when it is serving now, else undefined. */
  constructor(
    private readonly ids: () => readonly string[],
    private readonly sessionOf: (id: string) => McpSession | undefined,
  ) {}

  /** Adds a listener; the first one starts following every serving session. */
  subscribe(listener: (id: string, kind: ListKind) => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) for (const id of this.ids()) this.update(id);
    return () => {
      if (!this.listeners.delete(listener) || this.listeners.size > 0) return;
      for (const id of [...this.followed.keys()]) this.forget(id);
    };
  }

  /** The server's state changed: follow its new session, or stop following one that is gone. */
  update(id: string): void {
    const session = this.listeners.size > 0 ? this.sessionOf(id) : undefined;
    const current = this.followed.get(id);
    if (current?.session === session) return;
    this.forget(id);
    if (!session?.onListChanged) return;
    const off = session.onListChanged((kind) => {
      for (const listener of [...this.listeners]) {
        try {
          listener(id, kind);
        } catch {
          // One listener's failure is not the others'.
        }
      }
    });
    this.followed.set(id, { session, off });
  }

  /** Stops following the server's session (it left service, or the server was removed). */
  forget(id: string): void {
    this.followed.get(id)?.off();
    this.followed.delete(id);
  }
}
