import type { ActorView } from '../fleet/views.js';

/** What `GET /actors` may be asked for: filters and one page. */
export interface ListQuery {
  /** Only actors in one of these states. */
  states?: readonly string[];
  /** Only actors whose id contains this (case-insensitive). */
  q?: string;
  /** At most this many actors; the answer then carries `nextCursor` when more follow. */
  limit?: number;
  /** Where the previous page ended (its `nextCursor`). */
  cursor?: string;
}

/** One page of the fleet: actors in id order, and where the next page starts. */
export interface ListPage {
  actors: ActorView[];
  nextCursor?: string;
}

/**
 * Filters and pages the fleet's views. Pages follow id order and the cursor is the last id
 * returned (base64url), so a page boundary stays put while servers are added or removed
 * elsewhere in the list: nothing is skipped or repeated that existed across both requests.
 */
export function listActors(views: readonly ActorView[], query: ListQuery): ListPage {
  const states = query.states && query.states.length > 0 ? new Set(query.states) : undefined;
  const needle = query.q?.toLowerCase();
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const matching = views
    .filter((view) => (states ? states.has(view.state) : true) && (needle ? view.id.toLowerCase().includes(needle) : true))
    .filter((view) => after === undefined || view.id > after)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (query.limit === undefined || matching.length <= query.limit) return { actors: matching };
  const actors = matching.slice(0, query.limit);
  const last = actors.at(-1);
  return last ? { actors, nextCursor: encodeCursor(last.id) } : { actors };
}

function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

/** The id a cursor stands for; a cursor that is not one of ours is a `RangeError`. */
export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (id === '' || encodeCursor(id) !== cursor) throw new RangeError(`"${cursor}" is not a cursor this API issued`);
  return id;
}
