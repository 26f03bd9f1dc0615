/**
 * The states of a connection. The names are API: they appear in snapshots, `/actors`, metrics
 * and docs.
 */
export const CONNECTION_STATES = ['connecting', 'healthy', 'degraded', 'zombie', 'reconnecting', 'failed', 'stopped'] as const;

/** One of {@link CONNECTION_STATES}. */
export type ConnectionState = (typeof CONNECTION_STATES)[number];
