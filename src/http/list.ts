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
 * Where a listing reads the fleet: ids and states are cheap, views are built only for the page
 * returned, so one page of 100 out of 10 000 builds 100 views, not 10 000.
 */
export interface ListSource {
  /** Every id in the fleet, in any order. */
  ids(): readonly string[];
  /** The id's state now; undefined for one being removed as we look. */
  stateOf(id: string): string | undefined;
  /** The views of these ids, in this order (an id gone meanwhile is left out). */
  viewsOf(ids: readonly string[]): ActorView[];
}

/** A {@link ListSource} over views already built. */
export function viewSource(views: readonly ActorView[]): ListSource {
  const byId = new Map(views.map((view) => [view.id, view]));
  return {
    ids: () => [...byId.keys()],
    stateOf: (id) => byId.get(id)?.state,
    viewsOf: (ids) => ids.flatMap((id) => byId.get(id) ?? []),
  };
}

/**
 * Filters and pages the fleet's views. Pages follow id order and the cursor is the last id
 * returned (base64url), so a page boundary stays put while servers are added or removed
 * elsewhere in the list: nothing is skipped or repeated that existed across both requests.
 */
export function listActors(fleet: ListSource | readonly ActorView[], query: ListQuery): ListPage {
  const source = isViews(fleet) ? viewSource(fleet) : fleet;
  const states = query.states && query.states.length > 0 ? new Set(query.states) : undefined;
  const needle = query.q?.toLowerCase();
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const matching = source
    .ids()
    .filter((id) => (after === undefined || id > after) && (needle === undefined || id.toLowerCase().includes(needle)))
    .filter((id) => states === undefined || states.has(source.stateOf(id) ?? ''))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const cut = query.limit !== undefined && matching.length > query.limit;
  const actors = source.viewsOf(cut ? matching.slice(0, query.limit) : matching);
  const last = actors.at(-1);
  return cut && last ? { actors, nextCursor: encodeCursor(last.id) } : { actors };
}

function isViews(fleet: ListSource | readonly ActorView[]): fleet is readonly ActorView[] {
  return Array.isArray(fleet);
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
