import type { ActorView } from '../fleet/views.js';
import { JsonChunks } from './json-chunks.js';

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
  /** Every id in the fleet, in id order (code unit order). */
  ids(): readonly string[];
  /** The id's state now; undefined for one being removed as we look. */
  stateOf(id: string): string | undefined;
  /** The views of these ids, in this order (an id gone meanwhile is left out). */
  viewsOf(ids: readonly string[]): ActorView[];
  /** The same views as JSON text, when the source keeps it (otherwise the views are serialized). */
  textsOf?(ids: readonly string[]): string[];
}

/** A {@link ListSource} over views already built. */
function viewSource(views: readonly ActorView[]): ListSource {
  const byId = new Map(views.map((view) => [view.id, view]));
  const ids = [...byId.keys()].sort(); // code unit order, the order `<` gives strings
  return {
    ids: () => ids,
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
  const { ids, nextCursor } = pageOf(source, query);
  const actors = source.viewsOf(ids);
  return nextCursor === undefined ? { actors } : { actors, nextCursor };
}

/**
 * {@link listActors} as the UTF-8 bytes of the JSON text `JSON.stringify` would write for it, in
 * chunks ({@link JsonChunks}), each view written on its own and never the whole answer as one
 * string. With `keptTexts`, from the source's kept view texts where it has them: a list of 10 000
 * polled again then costs a lookup per actor, not a view built and serialized.
 */
export function listActorsChunks(source: ListSource, query: ListQuery, keptTexts: boolean): Array<Uint8Array<ArrayBuffer>> {
  const { ids, nextCursor } = pageOf(source, query);
  const texts = keptTexts && source.textsOf ? source.textsOf(ids) : source.viewsOf(ids).map((view) => JSON.stringify(view));
  const out = new JsonChunks();
  out.write('{"actors":[');
  texts.forEach((text, index) => {
    if (index > 0) out.write(',');
    out.write(text);
  });
  out.write(nextCursor === undefined ? ']}' : `],"nextCursor":${JSON.stringify(nextCursor)}}`);
  return out.chunks();
}

/** The ids of one page, and the cursor of the next when there is one. */
function pageOf(source: ListSource, query: ListQuery): { ids: string[]; nextCursor?: string } {
  const states = query.states && query.states.length > 0 ? new Set(query.states) : undefined;
  const needle = query.q?.toLowerCase();
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const ids = source.ids();
  // Ids are in order: start right after the cursor and stop once the page (and one more, to know
  // whether another page follows) is found, so a page costs what it skips and returns, not the fleet.
  const matching: string[] = [];
  const wanted = query.limit === undefined ? Number.POSITIVE_INFINITY : query.limit + 1;
  for (let index = after === undefined ? 0 : firstAfter(ids, after); index < ids.length && matching.length < wanted; index += 1) {
    const id = ids[index] as string;
    if (needle !== undefined && !containsIgnoringCase(id, needle)) continue;
    if (states !== undefined && !states.has(source.stateOf(id) ?? '')) continue;
    matching.push(id);
  }
  const cut = matching.length > (query.limit ?? Number.POSITIVE_INFINITY);
  const page = cut ? matching.slice(0, query.limit) : matching;
  // The cursor is the last id of the page, not of the views: an id whose actor went away as we
  // looked has no view, and a page of nothing but such ids must still lead to the next one.
  const last = page.at(-1);
  return cut && last !== undefined ? { ids: page, nextCursor: encodeCursor(last) } : { ids: page };
}

/**
 * An id made only of these is its own lower case. A subset of what a server id may hold
 * (`SERVER_ID_PATTERN`, src/config/schema.ts): a test that lets most ids skip lower-casing, not a
 * rule about ids.
 */
const OWN_LOWER_CASE = /^[a-z0-9._-]*$/;

/**
 * Whether `id.toLowerCase().includes(lowerCasedNeedle)`, without a lower-cased copy of ids that
 * are their own lower case: a search scans the fleet, and at 10 000 ids those copies (~0.3 MB a
 * request) were enough garbage to set off a scavenge (~10 ms at that size) every 50 requests.
 *
 * `lowerCasedNeedle` must be some string's `toLowerCase()` with no lone surrogate (a query read
 * from a URL has none). Then an id that holds it as it is matches: every code point of a lower
 * case is its own lower case, lower-casing depends on context only for `Σ` (which no lower case
 * holds), and a needle of whole code points lines up with the id's. An id that is its own lower
 * case and does not hold it cannot match. Any other id is lower-cased.
 */
export function containsIgnoringCase(id: string, lowerCasedNeedle: string): boolean {
  if (id.includes(lowerCasedNeedle)) return true;
  return !OWN_LOWER_CASE.test(id) && id.toLowerCase().includes(lowerCasedNeedle);
}

/** The index of the first id greater than `after` in ids in code unit order. */
function firstAfter(ids: readonly string[], after: string): number {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((ids[middle] as string) <= after) low = middle + 1;
    else high = middle;
  }
  return low;
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

/**
 * Lists further apart than this write every view anew and keep nothing (see {@link ListCadence}):
 * a connection probed every few seconds has moved by then, so a text kept for it would not be found.
 */
const KEEP_WITHIN_MS = 10_000;

/**
 * When a list is written from the source's kept view texts ({@link listActorsChunks}): the first
 * list, and any within 10 s of the one before (a dashboard polling, pages read in turn). A list
 * after a longer pause writes each view anew and keeps nothing: keeping a text per view costs
 * more than writing it (a kept text outlives the young generation), which only pays when the
 * next list finds it.
 */
export class ListCadence {
  private listedAt: number | undefined;

  /** Notes a list at `now`; whether it is written from kept texts. */
  fromKeptTexts(now: number): boolean {
    const recent = this.listedAt === undefined || now - this.listedAt <= KEEP_WITHIN_MS;
    this.listedAt = now;
    return recent;
  }
}

