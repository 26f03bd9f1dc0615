// GET /actors: filters (?state=, ?q=) and cursor pagination (?limit=&cursor=), as the pure
// function and through the route.
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { ActorView } from '../../../src/fleet/views.js';
import { containsIgnoringCase, decodeCursor, ListCadence, listActors, listActorsChunks } from '../../../src/http/list.js';
import type { ListSource } from '../../../src/http/list.js';

const view = (id: string, state: ActorView['state'] = 'healthy'): ActorView => ({
  id,
  state,
  transport: 'stdio',
  era: 'legacy',
  priority: 0,
  since: 0,
  attempts: 0,
  lastError: null,
  quality: { score: 100, latencyMs: { p50: 1, p95: 1 }, successRate: 1, trend: 'stable' },
  quarantinedUntil: null,
  waitingForSlot: false,
});

const fleet = ['files', 'search', 'db-main', 'db-replica', 'mail', 'Calendar'].map((id, index) => view(id, index % 2 === 0 ? 'healthy' : 'reconnecting'));

describe('listActors', () => {
  it('without a query lists everyone, in id order', () => {
    expect(listActors(fleet, {}).actors.map((actor) => actor.id)).toEqual(['Calendar', 'db-main', 'db-replica', 'files', 'mail', 'search']);
    expect(listActors(fleet, {}).nextCursor).toBeUndefined();
  });

  it('filters by state (any of several) and by id substring, case-insensitive', () => {
    expect(listActors(fleet, { states: ['reconnecting'] }).actors.map((actor) => actor.id)).toEqual(['Calendar', 'db-replica', 'search']);
    expect(listActors(fleet, { q: 'DB' }).actors.map((actor) => actor.id)).toEqual(['db-main', 'db-replica']);
    expect(listActors(fleet, { q: 'db', states: ['healthy'] }).actors.map((actor) => actor.id)).toEqual(['db-main']);
    expect(listActors(fleet, { states: ['healthy', 'reconnecting'] }).actors).toHaveLength(6);
  });

  it('matches an id as lower-casing both would, without lower-casing ids that are their own lower case', () => {
    const lowered = vi.spyOn(String.prototype, 'toLowerCase');
    try {
      expect(containsIgnoringCase('db-main', 'db')).toBe(true);
      expect(containsIgnoringCase('db-main', 'mail')).toBe(false);
      expect(lowered).not.toHaveBeenCalled();
      expect(containsIgnoringCase('Calendar', 'cal')).toBe(true);
      expect(containsIgnoringCase('DB-db', 'db')).toBe(true);
      // Only the id with capitals that does not hold the query as it is was lower-cased.
      expect(lowered.mock.contexts.map(String)).toEqual(['Calendar']);
    } finally {
      lowered.mockRestore();
    }
    // Characters whose lower case is another length or depends on what follows; ids that hold
    // the query as it is next to capitals.
    for (const [id, q] of [['İstanbul', 'i̇s'], ['ΟΔΟΣ', 'οδος'], ['ΟΔΟΣ', 'οδοσ'], ['ΟΔΟσ', 'σ'], ['Xi̇', 'i̇'], ['Straße', 'sse'], ['K-cluster', 'k-c'], ['\u212Aelvin', 'kelvin']] as const) {
      expect(containsIgnoringCase(id, q.toLowerCase()), `${id} / ${q}`).toBe(id.toLowerCase().includes(q.toLowerCase()));
    }
  });

  it('agrees with lower-casing id and query, for random strings of whole code points', () => {
    // No lone surrogates (a query read from a URL holds none), weighted toward letters that have
    // another case; half the queries are a piece of the id with its case flipped, so that ids
    // holding the query as it is next to other capitals come up often.
    const unit = fc.oneof(
      { arbitrary: fc.constantFrom('a', 'A', 'b', 'B', 'k', 'K', '-', '0'), weight: 6 },
      { arbitrary: fc.constantFrom('ß', 'Σ', 'σ', 'ς', 'İ', 'i', '\u0307', '\u212A'), weight: 3 },
      { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 1 },
    );
    fc.assert(
      fc.property(
        fc.string({ unit, maxLength: 8 }),
        fc.string({ unit, minLength: 1, maxLength: 3 }),
        fc.nat(8),
        fc.nat(3),
        fc.boolean(),
        (id, other, start, length, fromId) => {
          const piece = [...id].slice(start, start + length + 1).join('');
          const q = fromId && piece !== '' ? [...piece].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('') : other;
          return containsIgnoringCase(id, q.toLowerCase()) === id.toLowerCase().includes(q.toLowerCase());
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('pages with a cursor: every actor exactly once, and a page boundary survives servers added and removed elsewhere', () => {
    const seen: string[] = [];
    let page = listActors(fleet, { limit: 4 });
    seen.push(...page.actors.map((actor) => actor.id));
    expect(page.actors).toHaveLength(4);
    expect(page.nextCursor).toBeDefined();
    // Between the requests: one server before the cursor is removed, one after it is added.
    const changed = [...fleet.filter((actor) => actor.id !== 'Calendar'), view('zeta')];
    page = listActors(changed, { limit: 4, cursor: page.nextCursor });
    seen.push(...page.actors.map((actor) => actor.id));
    expect(page.nextCursor).toBeUndefined();
    expect(seen).toEqual(['Calendar', 'db-main', 'db-replica', 'files', 'mail', 'search', 'zeta']);
  });

  it('refuses a cursor it did not issue', () => {
    expect(() => decodeCursor('not a cursor!')).toThrow(RangeError);
    expect(() => listActors(fleet, { cursor: '' })).toThrow(RangeError);
  });

  it('one page of 100 out of 10 000 is cheap', () => {
    const big = Array.from({ length: 10_000 }, (_, index) => view(`server-${String(index).padStart(5, '0')}`));
    const page = listActors(big, { limit: 100, cursor: Buffer.from('server-05000').toString('base64url') });
    expect(page.actors[0]?.id).toBe('server-05001');
    expect(page.actors).toHaveLength(100);
  });

  it('builds views only for the page it returns, and reads states only as far as the page reaches', () => {
    const ids = Array.from({ length: 10_000 }, (_, index) => `server-${String(index).padStart(5, '0')}`);
    const built: string[] = [];
    let statesRead = 0;
    const source: ListSource = {
      ids: () => ids,
      stateOf: (id) => {
        statesRead += 1;
        return Number(id.slice(-1)) % 2 === 0 ? 'healthy' : 'zombie';
      },
      viewsOf: (wanted) => {
        built.push(...wanted);
        return wanted.map((id) => view(id, Number(id.slice(-1)) % 2 === 0 ? 'healthy' : 'zombie'));
      },
    };
    const page = listActors(source, { states: ['zombie'], limit: 100 });
    expect(page.actors.map((actor) => actor.id).slice(0, 2)).toEqual(['server-00001', 'server-00003']);
    expect(page.actors.every((actor) => actor.state === 'zombie')).toBe(true);
    expect(built).toHaveLength(100);
    // 100 zombies and one more (to know a page follows) are found among the first 202 ids.
    expect(statesRead).toBe(202);
    statesRead = 0;
    const later = listActors(source, { states: ['zombie'], limit: 100, cursor: Buffer.from('server-09899').toString('base64url') });
    expect(later.actors[0]?.id).toBe('server-09901');
    expect(later.actors).toHaveLength(50);
    expect(later.nextCursor).toBeUndefined();
    expect(statesRead).toBe(100);
    expect(page.nextCursor).toBe(Buffer.from('server-00199').toString('base64url'));
    // An id gone between the filter and the views (removed meanwhile) is left out, not an error.
    const gone: ListSource = { ...source, viewsOf: (wanted) => source.viewsOf(wanted.slice(1)) };
    expect(listActors(gone, { q: 'server-0000' }).actors).toHaveLength(9);
    // A page of nothing but such ids still leads on to the next page.
    const ghosts: ListSource = { ...source, viewsOf: () => [] };
    const empty = listActors(ghosts, { limit: 10 });
    expect(empty.actors).toEqual([]);
    expect(empty.nextCursor).toBe(Buffer.from('server-00009').toString('base64url'));
  });
});

describe('GET /actors with a query', () => {
  it('answers 400 for an unknown state, a bad limit or a foreign cursor, and pages through the route', async () => {
    const { createApp } = await import('../../../src/http/app.js');
    const { createSupervisor } = await import('../../../src/fleet/supervisor.js');
    const supervisor = createSupervisor({ mcpServers: { b: { command: 'mcp-no-such-command-b' }, a: { command: 'mcp-no-such-command-a' }, c: { command: 'mcp-no-such-command-c' } } });
    try {
      const app = createApp({ supervisor });
      expect((await app.request('/actors?state=sleeping')).status).toBe(400);
      expect((await app.request('/actors?limit=0')).status).toBe(400);
      expect((await app.request('/actors?cursor=%21%21')).status).toBe(400);
      const first = (await (await app.request('/actors?limit=2')).json()) as { actors: Array<{ id: string }>; nextCursor?: string };
      expect(first.actors.map((actor) => actor.id)).toEqual(['a', 'b']);
      const second = (await (await app.request(`/actors?limit=2&cursor=${first.nextCursor ?? ''}`)).json()) as { actors: Array<{ id: string }>; nextCursor?: string };
      expect(second.actors.map((actor) => actor.id)).toEqual(['c']);
      expect(second.nextCursor).toBeUndefined();
      const filtered = (await (await app.request('/actors?q=B')).json()) as { actors: Array<{ id: string }> };
      expect(filtered.actors.map((actor) => actor.id)).toEqual(['b']);
    } finally {
      await supervisor.stop();
    }
  });
});

describe('listActorsChunks', () => {
  const source = (texts: boolean): ListSource => {
    const byId = new Map(fleet.map((actor) => [actor.id, actor]));
    const ids = [...byId.keys()].sort();
    return {
      ids: () => ids,
      stateOf: (id) => byId.get(id)?.state,
      viewsOf: (page) => page.flatMap((id) => byId.get(id) ?? []),
      ...(texts ? { textsOf: (page: readonly string[]) => page.flatMap((id) => (byId.has(id) ? [JSON.stringify(byId.get(id))] : [])) } : {}),
    };
  };

  it('writes what JSON.stringify writes for listActors, with and without kept texts and a cursor', () => {
    for (const texts of [false, true]) {
      for (const keptTexts of [false, true]) {
        for (const query of [{}, { limit: 2 }, { limit: 2, cursor: listActors(fleet, { limit: 2 }).nextCursor }, { states: ['reconnecting'] }, { q: 'nothing' }]) {
          expect(Buffer.concat(listActorsChunks(source(texts), query, keptTexts)).toString('utf8')).toBe(JSON.stringify(listActors(fleet, query)));
        }
      }
    }
  });
});

describe('GET /actors after a connection moves', () => {
  it('lists the view as it is now, not the text kept from the last list', async () => {
    const { createApp } = await import('../../../src/http/app.js');
    const { createSupervisor } = await import('../../../src/fleet/supervisor.js');
    const supervisor = createSupervisor({ mcpServers: { a: { command: 'mcp-no-such-command-a' }, b: { command: 'mcp-no-such-command-b' } } });
    try {
      const app = createApp({ supervisor });
      const list = async () => (await (await app.request('/actors')).json()) as { actors: ActorView[] };
      const before = await list();
      expect(before.actors.map((actor) => actor.id)).toEqual(['a', 'b']);
      expect(before).toEqual({ actors: supervisor.viewsOf(['a', 'b']) });
      supervisor.command('a', 'stop');
      await expect.poll(() => supervisor.state('a'), { timeout: 5_000 }).toBe('stopped');
      const after = await list();
      expect(after.actors.find((actor) => actor.id === 'a')?.state).toBe('stopped');
      expect(after).toEqual({ actors: supervisor.viewsOf(['a', 'b']) });
    } finally {
      await supervisor.stop();
    }
  });
});

describe('ListCadence', () => {
  it('writes the first list and lists within 10 s of the last from kept texts, a list after a longer pause whole', () => {
    const cadence = new ListCadence();
    expect([0, 5_000, 15_000, 40_000, 45_000].map((at) => cadence.fromKeptTexts(at))).toEqual([true, true, true, false, true]);
  });

  it('lists the same JSON either way through the route', async () => {
    const { createApp } = await import('../../../src/http/app.js');
    const { createSupervisor } = await import('../../../src/fleet/supervisor.js');
    const supervisor = createSupervisor({ mcpServers: { a: { command: 'mcp-no-such-command-a' }, b: { command: 'mcp-no-such-command-b' } } });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const app = createApp({ supervisor });
      const list = async () => (await app.request('/actors')).text();
      supervisor.command('a', 'stop');
      supervisor.command('b', 'stop');
      await expect.poll(() => [supervisor.state('a'), supervisor.state('b')], { timeout: 5_000 }).toEqual(['stopped', 'stopped']);
      const expected = JSON.stringify({ actors: supervisor.viewsOf(['a', 'b']) });
      expect(await list()).toBe(expected); // the first: from texts
      vi.setSystemTime(Date.now() + 11_000);
      expect(await list()).toBe(JSON.stringify({ actors: supervisor.viewsOf(['a', 'b']) })); // after a pause: whole
      expect(await list()).toBe(JSON.stringify({ actors: supervisor.viewsOf(['a', 'b']) })); // soon after: from texts
    } finally {
      vi.useRealTimers();
      await supervisor.stop();
    }
  });
});

