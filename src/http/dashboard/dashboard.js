// The dashboard's whole client: plain browser JavaScript, inlined into GET / as it is (no build).
// Reads the fleet from GET /actors (every page), follows /events with fetch() (EventSource cannot
// send the Authorization header) and resumes it with Last-Event-ID when it drops; reads
// GET /actors/:id (history, samples, snapshot) for the selected actor only.
//
// Built for a fleet of thousands (docs/dashboard.md): events change an in-memory model and cost
// no DOM work; the page is drawn at most once per animation frame, and only the cards in view
// (plus a margin) exist in the document: the list is virtualized by rows.
'use strict';
(() => {
  const TOKEN_KEY = 'mcp-supervisor.token';
  const STATES = ['connecting', 'healthy', 'degraded', 'zombie', 'reconnecting', 'failed', 'stopped'];
  /** The states under the chart's `serving` parent (the two that answer calls). */
  const SERVING = new Set(['healthy', 'degraded']);
  const SPARK_POINTS = 40;
  /** Keep-alives come every 15 s; a stream silent for longer than this is considered dead. */
  const STREAM_IDLE_MS = 45000;
  const TRANSITIONS_SHOWN = 30;
  /** The API's largest page: GET /actors is read in pages of this many. */
  const PAGE_SIZE = 1000;
  /** Views (quality, process facts, attempts) are re-read at most this often while cards in view change… */
  const REFRESH_MS = 1000;
  /** …and, whatever happens, this often: process CPU and memory change without events. */
  const POLL_MS = 5000;
  /** Nor more often than this many times the last read took: a large fleet is read less often. */
  const REFRESH_COST_FACTOR = 10;
  /** The selected actor's detail is re-read at most this often on its probes and calls. */
  const QUIET_REFRESH_MS = 1000;
  /** A process ends (or starts) a moment after its transition: look again this much later. */
  const FOLLOW_UP_MS = 1500;
  /** The cards' grid: the same numbers as `.cards` in dashboard.css. */
  const CARD_MIN_PX = 300;
  const GAP_PX = 14;
  /** Rows drawn above and below the window, so that a scroll shows cards, not blank space. */
  const OVERSCAN_PX = 500;
  /** A row's height before it was ever drawn (then it is measured). */
  const ESTIMATED_ROW_PX = 230;
  /** A state change seen by a card in view is kept for its next frame, at most this many per card. */
  const PASSED_KEPT = 16;

  const $ = (id) => document.getElementById(id);

  /** The selected actor's id, kept in the URL's fragment. */
  function idFromHash() {
    try {
      return decodeURIComponent(location.hash.slice(1)) || null;
    } catch {
      return null;
    }
  }

  /**
   * The model: id -> { id, view, viewAt, samples, sparkVersion, seeded, appliedSeq, createdSeq, stale, detail,
   * pending, note, noteError, noteTimer, card, passed }. `card` is the element while the actor is
   * drawn (in view), else null; `detail` is set for the selected actor only.
   */
  const actors = new Map();
  /** Every id, in the API's order (code unit order, the order `<` gives). */
  const order = [];
  /** The ids the filter lets through, in the same order: what the list shows. */
  let shown = order;
  const filter = { states: new Set(), text: '' };
  /** What the next frame must draw. */
  const dirty = { shown: true, summary: true, detail: false, tick: false, cards: new Set() };
  /** Bumped whenever `shown` changes: the list redraws its window. */
  let shownVersion = 0;
  let frameRequested = false;
  let loaded = false;
  let revealOnLoad = true;

  let selected = idFromHash();
  let lastEventId = null;
  let stream = null;
  let needsFullLoad = true;
  let requestSeq = 0;
  let loginShown = false;
  let panic = null;
  /** GET /actors re-reads: one at a time, at most one per interval, the last one asked never lost. */
  const refresh = { inflight: false, wanted: false, timer: null, last: 0, loadedAt: 0, costMs: 0, followUp: null };
  /** Ids removed by an event, with the sequence number of the removal: an older read may not bring them back. */
  const removedAt = new Map();
  /** GET /actors/:id of the selected actor, likewise. */
  const detailRead = { inflight: false, again: false, timer: null, last: 0, followUp: null, settled: Promise.resolve() };
  /**
   * Ids this page is removing (its DELETE is on the way): nothing more is read of them, since the
   * answer would be a 404 between the removal and its `server.removed` event.
   */
  const leaving = new Set();
  /** The generated chart: shown zoomed to the current state (readable), or whole. */
  const chart = { status: 'unloaded', svg: null, zoomed: true, centeredOn: null, scale: null, labels: null };
  /** Zoomed, the chart's text is drawn at about this many pixels. */
  const ZOOMED_FONT_PX = 8.5;

  /**
   * How many tokens the user gave on this page. A request remembers the count it was sent under:
   * a 401 to a request sent before the latest token was given (with none, or an earlier one, even
   * the same string typed again) is stale and refuses nothing the page holds now.
   */
  let tokensGiven = 0;

  /** A 401, with `tokensGiven` when its request was sent. */
  class Unauthorized extends Error {
    constructor(sentUnder) {
      super('unauthorized');
      this.sentUnder = sentUnder;
    }
  }

  /** A 401 that refuses the page's current token (or its lack of one), not a stale one. */
  const refusesCurrent = (error) => error instanceof Unauthorized && error.sentUnder === tokensGiven;

  // ---------------------------------------------------------------------------------------------
  // API

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  async function api(path, init = {}) {
    const headers = new Headers(init.headers);
    const sentUnder = tokensGiven;
    const value = token();
    if (value) headers.set('authorization', `Bearer ${value}`);
    const response = await fetch(path, { ...init, headers, cache: 'no-store' });
    if (response.status === 401) {
      await response.body?.cancel();
      throw new Unauthorized(sentUnder);
    }
    return response;
  }

  async function apiJson(path, init) {
    const response = await api(path, init);
    const text = await response.text();
    let body;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const error = new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  const actorPath = (id) => `/actors/${encodeURIComponent(id)}`;

  // The page's other scripts (inlined after this one, each its own closure) reach the API and
  // follow the selection through this one object; they never touch this file's state.
  const selectListeners = new Set();
  const startListeners = new Set();
  const loginListeners = new Set();
  const leaveListeners = new Set();
  window.mcpDashboard = Object.freeze({
    api,
    apiJson,
    /** `{ type, data, id }` of one Server-Sent Events block (the text between blank lines). */
    parseSse: (block) => parseSse(block),
    /** Each complete block of streamed text to `onBlock`; the unfinished rest is returned, to prepend to the next chunk. */
    sseBlocks: (text, onBlock) => sseBlocks(text, onBlock),
    actorPath,
    selected: () => selected,
    /** `listener(id | null)` after each change of the selected actor. */
    onSelect: (listener) => selectListeners.add(listener),
    /** `listener()` each time the page (re)loads the fleet: when it opens, and after each token given. */
    onStart: (listener) => startListeners.add(listener),
    /**
     * `listener()` each time the page asks for a token (none yet, refused, or forgotten): stop
     * reading with the old one and drop what was shown or typed under it.
     */
    onLogin: (listener) => loginListeners.add(listener),
    /**
     * Before this page removes an actor: stops reading it; resolves once a read of it already on
     * the way is answered, so that read cannot find it gone. `stay(id)` undoes it (the removal failed).
     */
    leave: (id) => leave(id),
    stay: (id) => stay(id),
    /** Whether this page is removing the actor (between `leave(id)` and its removal or `stay(id)`). */
    isLeaving: (id) => leaving.has(id),
    /** `listener(id, leaving)` after `leave(id)` (true) and `stay(id)` (false). */
    onLeave: (listener) => leaveListeners.add(listener),
    /** Every actor's id the page knows, in id order. */
    ids: () => order.slice(),
    /**
     * Whether an error thrown by `api`/`apiJson` was a 401 to the page's current token; then call
     * `unauthorized(error)` (it asks for a token). A 401 to a request sent before the user gave
     * the latest token is an ordinary error: that request failed, the page keeps the token.
     */
    isUnauthorized: (error) => refusesCurrent(error),
    /** After a 401 (`error`): forgets the token and asks for one; returns false, doing nothing, for a stale 401. */
    unauthorized: (error) => onUnauthorized(error),
  });

  // ---------------------------------------------------------------------------------------------
  // token

  function showLogin(message) {
    stopStream();
    loginShown = true;
    $('main').hidden = true;
    $('sign-out').hidden = true;
    $('search').hidden = true;
    $('login').hidden = false;
    $('login-error').hidden = !message;
    $('login-error').textContent = message ?? '';
    setStreamStatus('idle');
    // What the old token could do is not what the next one may.
    delete document.body.dataset.role;
    delete document.body.dataset.tokenName;
    for (const listener of loginListeners) listener();
    $('token-input').focus();
  }

  /**
   * After any error: when it is a 401 to the current token, forgets the token and asks for one.
   * Not for a stale 401 (`refusesCurrent`): a slow answer to a request sent before the user gave a
   * token must not sign out the one they just gave. Returns whether the page asks for a token.
   */
  function onUnauthorized(error) {
    if (!refusesCurrent(error)) return false;
    if (loginShown) return true;
    const had = token() !== null;
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(had ? 'That token was not accepted.' : undefined);
    return true;
  }

  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('token-input').value.trim();
    if (!value) return;
    tokensGiven += 1;
    sessionStorage.setItem(TOKEN_KEY, value);
    $('token-input').value = '';
    start();
  });

  $('sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin();
  });

  // ---------------------------------------------------------------------------------------------
  // loading

  function start() {
    loginShown = false;
    $('login').hidden = true;
    $('fatal').hidden = true;
    $('sign-out').hidden = !token();
    needsFullLoad = true;
    openStream();
    void loadRole();
    for (const listener of startListeners) listener();
  }

  /** Shows only what the token's role may do: `data-needs-role` elements are hidden by dashboard.css. */
  async function loadRole() {
    const askedUnder = tokensGiven;
    try {
      const who = await apiJson('/whoami');
      // Signed out since, or a token given since (its own read is on the way): this answer is stale.
      if (loginShown || askedUnder !== tokensGiven) return;
      document.body.dataset.role = who.role;
      document.body.dataset.tokenName = who.name ?? '';
    } catch (error) {
      if (loginShown || askedUnder !== tokensGiven) return;
      if (error instanceof Unauthorized) onUnauthorized(error);
      else delete document.body.dataset.role;
    }
  }

  /**
   * Reads every page of GET /actors into the model, in the API's order. An actor the API no
   * longer lists is gone, unless an event brought it after this read began.
   */
  async function loadViews() {
    const seq = ++requestSeq;
    const listed = new Set();
    let cursor;
    do {
      const query = cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page = await apiJson(`/actors?limit=${PAGE_SIZE}${query}`);
      for (const view of page.actors) {
        if ((removedAt.get(view.id) ?? -1) > seq) continue;
        listed.add(view.id);
        applyView(ensure(view.id), view, seq);
      }
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    for (const entry of [...actors.values()]) if (!listed.has(entry.id) && entry.createdSeq < seq) removeActor(entry.id);
  }

  /** The first read, and a new one whenever events were missed. */
  async function loadAll() {
    needsFullLoad = false;
    try {
      await loadViews();
      // Asked for a token meanwhile (forgotten or refused): nothing is shown beside the login.
      if (loginShown) return;
      loaded = true;
      refresh.loadedAt = Date.now();
      $('main').hidden = false;
      $('search').hidden = false;
      $('fatal').hidden = true;
      if (selected && !actors.has(selected)) {
        select(null);
      } else {
        const had = selected ? actors.get(selected).detail : null;
        select(selected); // reads its detail when it has none
        if (had) refreshDetail(); // events may have been missed: its history too
      }
      // A link to an actor (#id) opens with its card in view; later reads leave the scroll alone.
      if (revealOnLoad && selected) reveal(selected);
      revealOnLoad = false;
      schedule();
    } catch (error) {
      if (error instanceof Unauthorized) return void onUnauthorized(error);
      needsFullLoad = true;
      showFatal(`Could not read /actors: ${error.message}`);
      setTimeout(() => {
        if (needsFullLoad && !loginShown) void loadAll();
      }, 3000);
    }
  }

  /**
   * Asks for the views to be read again: at once when none was read for a while, else when the
   * interval (REFRESH_MS, or more for a fleet that takes long to read) is over.
   */
  function refreshViews() {
    refresh.wanted = true;
    if (refresh.inflight || refresh.timer !== null || !loaded) return;
    const gap = Math.max(REFRESH_MS, REFRESH_COST_FACTOR * refresh.costMs);
    refresh.timer = setTimeout(runRefresh, Math.max(0, refresh.last + gap - Date.now()));
  }

  async function runRefresh() {
    refresh.timer = null;
    refresh.wanted = false;
    refresh.inflight = true;
    refresh.last = Date.now();
    const started = performance.now();
    try {
      await loadViews();
    } catch (error) {
      onUnauthorized(error);
      // Anything else: the next refresh or poll tries again.
    } finally {
      refresh.costMs = performance.now() - started;
      refresh.inflight = false;
      if (refresh.wanted && !loginShown) refreshViews();
    }
  }

  /** A card in view changed state: read its view now (throttled) and once more a moment later. */
  function refreshSoonAndLater() {
    refreshViews();
    clearTimeout(refresh.followUp);
    refresh.followUp = setTimeout(refreshViews, FOLLOW_UP_MS);
  }

  /** Re-reads the selected actor's detail; coalesced, so a burst of events costs at most two requests. */
  function refreshDetail() {
    const id = selected;
    if (!id || !actors.has(id) || leaving.has(id)) return;
    if (detailRead.inflight) {
      detailRead.again = true;
      return;
    }
    detailRead.inflight = true;
    const seq = ++requestSeq;
    detailRead.settled = apiJson(actorPath(id))
      .then((detail) => {
        if (selected === id) applyDetail(actors.get(id), detail, seq);
      })
      .catch((error) => {
        if (!onUnauthorized(error) && error.status === 404) removeActor(id);
      })
      .finally(() => {
        detailRead.inflight = false;
        if (detailRead.again) {
          detailRead.again = false;
          refreshDetail();
        }
      });
  }

  /** For frequent events (probes, calls): one detail read per QUIET_REFRESH_MS, the last one never lost. */
  function refreshDetailQuietly() {
    if (detailRead.timer !== null) return;
    const wait = Math.max(0, detailRead.last + QUIET_REFRESH_MS - Date.now());
    detailRead.timer = setTimeout(() => {
      detailRead.timer = null;
      detailRead.last = Date.now();
      refreshDetail();
    }, wait);
  }

  function showFatal(message) {
    $('fatal').textContent = message;
    $('fatal').hidden = false;
  }

  // ---------------------------------------------------------------------------------------------
  // the model (no DOM work here: it marks what the next frame draws)

  function ensure(id) {
    let entry = actors.get(id);
    if (entry) return entry;
    entry = {
      id,
      view: { id, state: 'connecting' },
      viewAt: performance.now(),
      samples: [],
      sparkVersion: 0,
      seeded: false,
      appliedSeq: 0,
      createdSeq: requestSeq,
      stale: true,
      detail: null,
      pending: null,
      note: '',
      noteError: false,
      noteTimer: null,
      card: null,
      passed: [],
    };
    actors.set(id, entry);
    removedAt.delete(id);
    // Usually the last place (pages come in order): a binary search, then a push.
    let low = 0;
    let high = order.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (order[middle] < id) low = middle + 1;
      else high = middle;
    }
    order.splice(low, 0, id);
    dirty.shown = true;
    dirty.summary = true;
    schedule();
    return entry;
  }

  function leave(id) {
    leaving.add(id);
    if (selected === id) clearTimeout(detailRead.followUp);
    for (const listener of leaveListeners) listener(id, true);
    return detailRead.settled.then(() => undefined);
  }

  function stay(id) {
    if (!leaving.delete(id)) return;
    for (const listener of leaveListeners) listener(id, false);
    refreshDetail();
  }

  function removeActor(id) {
    const entry = actors.get(id);
    if (!entry) return;
    clearTimeout(entry.noteTimer);
    // Its card leaves the document now: the next frame's list no longer knows the actor to remove it.
    entry.card?.remove();
    entry.card = null;
    actors.delete(id);
    leaving.delete(id);
    removedAt.set(id, ++requestSeq);
    const index = order.indexOf(id);
    if (index >= 0) order.splice(index, 1);
    if (selected === id) select(null);
    dirty.shown = true;
    dirty.summary = true;
    schedule();
  }

  function stateChanged() {
    dirty.summary = true;
    if (filter.states.size > 0) dirty.shown = true;
  }

  function applyView(entry, view, seq) {
    if (seq < entry.appliedSeq) return false; // an answer older than what is shown
    entry.appliedSeq = seq;
    if (entry.view.state !== view.state) stateChanged();
    entry.view = view;
    entry.viewAt = performance.now();
    entry.stale = false;
    if (entry.card) dirty.cards.add(entry.id);
    if (selected === entry.id) dirty.detail = true;
    schedule();
    return true;
  }

  function applyDetail(entry, detail, seq) {
    if (!entry || actors.get(entry.id) !== entry || !applyView(entry, detail, seq)) return;
    entry.detail = detail;
    if (!entry.seeded) {
      entry.seeded = true;
      const recent = detail.snapshot?.context?.recentSamples ?? [];
      entry.samples = recent.map((sample) => ({ ok: sample.ok, latencyMs: sample.ok ? sample.latencyMs : null })).concat(entry.samples).slice(-SPARK_POINTS);
      entry.sparkVersion += 1;
      if (entry.card) dirty.cards.add(entry.id);
    }
  }

  function applyTransition(event) {
    const entry = ensure(event.id);
    entry.appliedSeq = ++requestSeq; // answers to requests sent before this event are stale
    if (entry.view.state !== event.to) stateChanged();
    entry.view.state = event.to;
    entry.view.since = event.at;
    entry.viewAt = performance.now();
    entry.stale = true; // attempts, last error and process follow with the next read
    if (entry.card) {
      if (entry.passed.length < PASSED_KEPT) entry.passed.push(event.to);
      dirty.cards.add(entry.id);
      refreshSoonAndLater();
    }
    if (selected === entry.id) {
      if (entry.detail) {
        entry.detail.history = [...(entry.detail.history ?? []), { from: event.from, to: event.to, at: event.at, reason: event.reason }];
      }
      dirty.detail = true;
      refreshDetail();
      clearTimeout(detailRead.followUp);
      detailRead.followUp = setTimeout(refreshDetail, FOLLOW_UP_MS);
    }
    schedule();
  }

  function applyProbe(event) {
    const entry = actors.get(event.id);
    if (!entry) return;
    const ok = event.outcome === 'fast' || event.outcome === 'slow';
    entry.samples.push({ ok, latencyMs: ok && typeof event.latencyMs === 'number' ? event.latencyMs : null });
    if (entry.samples.length > SPARK_POINTS) entry.samples.splice(0, entry.samples.length - SPARK_POINTS);
    entry.sparkVersion += 1;
    if (entry.card) {
      dirty.cards.add(entry.id); // the sparkline
      schedule();
    }
    touched(entry, false);
  }

  /**
   * Something changed what the actor's view says. `now`: something a card shows as it happens
   * (a reconnect slot, a quarantine), read again soon if the card is in view; else quality, which
   * the poll brings, except to a card that has no samples yet. The selected actor's detail
   * follows every change.
   */
  function touched(entry, now) {
    const quality = entry.view.quality;
    const noSamples = quality?.latencyMs?.p50 == null && quality?.successRate == null;
    if (entry.card && (now || noSamples)) refreshViews();
    if (selected === entry.id) refreshDetailQuietly();
  }

  function setNote(entry, text, error) {
    entry.note = text;
    entry.noteError = error;
    if (entry.card) {
      renderNote(entry);
      renderButtons(entry);
    }
  }

  async function command(id, name) {
    const entry = actors.get(id);
    if (!entry || entry.pending) return;
    entry.pending = name;
    clearTimeout(entry.noteTimer);
    setNote(entry, `${name}…`, false);
    try {
      await apiJson(`${actorPath(id)}/${name}`, { method: 'POST' });
      setNote(entry, '', false); // the card's next transition is the answer
    } catch (error) {
      if (onUnauthorized(error)) return;
      setNote(entry, `${name} failed: ${error.message}`, true);
    } finally {
      entry.pending = null;
      if (entry.card) renderButtons(entry);
      clearTimeout(entry.noteTimer);
      entry.noteTimer = setTimeout(() => setNote(entry, '', false), 4000);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // /events

  function setStreamStatus(status) {
    const element = $('stream-status');
    element.dataset.status = status;
    element.querySelector('.label').textContent = { idle: 'offline', connecting: 'connecting…', live: 'live', retrying: 'reconnecting…' }[status];
  }

  function stopStream() {
    stream?.abort();
    stream = null;
  }

  function openStream() {
    stopStream();
    const controller = new AbortController();
    stream = controller;
    void (async () => {
      let delay = 500;
      let first = true;
      while (!controller.signal.aborted) {
        const attempt = new AbortController();
        const abortAttempt = () => attempt.abort();
        controller.signal.addEventListener('abort', abortAttempt);
        try {
          setStreamStatus(first ? 'connecting' : 'retrying');
          const headers = lastEventId === null ? {} : { 'last-event-id': lastEventId };
          const response = await api('/events', { headers, signal: attempt.signal });
          if (!response.ok || !response.body) throw new Error(`/events answered ${response.status}`);
          setStreamStatus('live');
          delay = 500;
          // Without an id to resume from, whatever happened while disconnected is unknown.
          if (!first && lastEventId === null) needsFullLoad = true;
          if (needsFullLoad) void loadAll();
          first = false;
          await readEvents(response.body, attempt);
        } catch (error) {
          if (onUnauthorized(error)) break;
          first = false;
        } finally {
          controller.signal.removeEventListener('abort', abortAttempt);
          attempt.abort();
        }
        if (controller.signal.aborted) break;
        setStreamStatus('retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 10000);
      }
    })();
  }

  async function readEvents(body, attempt) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let idle;
    const kick = () => {
      clearTimeout(idle);
      idle = setTimeout(() => attempt.abort(), STREAM_IDLE_MS);
    };
    kick();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        kick();
        buffer = sseBlocks(buffer + value, dispatch);
      }
    } finally {
      clearTimeout(idle);
    }
  }

  /** Hands each complete Server-Sent Events block of `text` to `onBlock`; returns the unfinished rest. */
  function sseBlocks(text, onBlock) {
    let start = 0;
    for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n', start)) {
      onBlock(text.slice(start, end));
      start = end + 2;
    }
    return text.slice(start);
  }

  /** One Server-Sent Events block as `{ type, data, id }` (`data` undefined when it has none). */
  function parseSse(block) {
    let type = 'message';
    let data;
    let id;
    for (const rawLine of block.split('\n')) {
      const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
      else if (field === 'id') id = value;
    }
    return { type, data, id };
  }

  function dispatch(block) {
    const { type, data, id } = parseSse(block);
    if (id !== undefined) lastEventId = id;
    if (data === undefined) return;
    let event;
    try {
      event = JSON.parse(data);
    } catch {
      return;
    }
    try {
      handle(type, event);
    } catch (error) {
      console.error('dashboard: could not apply event', type, error);
    }
  }

  /** One event: the model changes; the page follows in the next frame. */
  function handle(type, event) {
    switch (type) {
      case 'state.changed':
        return applyTransition(event);
      case 'probe.completed':
        return applyProbe(event);
      case 'call.completed':
      case 'slot.granted':
      case 'quarantine.started': {
        const entry = actors.get(event.id);
        return entry ? touched(entry, type !== 'call.completed') : undefined;
      }
      case 'server.added':
        ensure(event.id);
        return refreshViews();
      case 'server.removed':
        return removeActor(event.id);
      case 'panic.started':
        panic = event;
        dirty.summary = true;
        return schedule();
      case 'panic.ended':
        panic = null;
        dirty.summary = true;
        return schedule();
      case 'gap':
      case 'reset':
        // Events were missed (evicted, or a new supervisor process): read everything again.
        return void loadAll();
      default:
        return undefined;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // rendering: one frame draws whatever changed since the last one

  function schedule() {
    if (frameRequested) return;
    frameRequested = true;
    requestAnimationFrame(frame);
  }

  function frame() {
    frameRequested = false;
    // Reads first, while the layout is still the one the last frame left: where the list is.
    const place = $('main').hidden ? null : placeList();
    if (dirty.summary) renderSummary();
    if (dirty.shown) updateShown();
    if (place) renderList(place);
    if (dirty.detail) {
      dirty.detail = false;
      renderDetail();
    }
  }

  /** Sets an element's text only when it changes (an equal write still costs a layout). */
  function setText(element, text) {
    if (element.textContent !== text) element.textContent = text;
  }

  function setAttr(element, name, value) {
    if (element.getAttribute(name) !== value) element.setAttribute(name, value);
  }

  /** The ids the filter lets through, in order; and the line that says how many. */
  function updateShown() {
    dirty.shown = false;
    shownVersion += 1;
    list.heights = []; // rows hold other cards now
    const { text, states } = filter;
    shown = text === '' && states.size === 0 ? order : order.filter((id) => (text === '' || id.toLowerCase().includes(text)) && (states.size === 0 || states.has(actors.get(id).view.state)));
    const filtered = shown !== order;
    $('shown').hidden = !filtered;
    if (filtered) {
      const what = [states.size > 0 ? [...states].join(' or ') : null, text !== '' ? `id contains “${text}”` : null].filter(Boolean).join(', ');
      $('shown-text').textContent = `${shown.length} of ${order.length} · ${what}`;
    }
    $('empty').hidden = !loaded || actors.size > 0;
    $('no-match').hidden = !filtered || shown.length > 0 || actors.size === 0;
  }

  /** Built once: one button per state (a filter), its count kept up to date. */
  const summaryButtons = new Map();
  for (const state of STATES) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'count';
    button.dataset.state = state;
    button.setAttribute('aria-pressed', 'false');
    button.title = `show only the ${state} servers (again: show all)`;
    button.hidden = true;
    const dot = document.createElement('i');
    const label = document.createElement('span');
    button.append(dot, label);
    button.addEventListener('click', (event) => setStateFilter(state, event.ctrlKey || event.metaKey || event.shiftKey));
    summaryButtons.set(state, { button, label });
    $('summary').append(button);
  }

  function renderSummary() {
    dirty.summary = false;
    const counts = new Map();
    for (const entry of actors.values()) counts.set(entry.view.state, (counts.get(entry.view.state) ?? 0) + 1);
    setText($('total'), loaded ? `${actors.size} ${actors.size === 1 ? 'server' : 'servers'}` : '');
    setAttr($('total'), 'data-count', String(actors.size));
    for (const [state, { button, label }] of summaryButtons) {
      const count = counts.get(state) ?? 0;
      const pressed = filter.states.has(state);
      const hidden = count === 0 && !pressed;
      if (button.hidden !== hidden) button.hidden = hidden;
      setAttr(button, 'data-count', String(count));
      setAttr(button, 'aria-pressed', String(pressed));
      setText(label, `${count} ${state}`);
    }
    if ($('panic').hidden !== !panic) $('panic').hidden = !panic;
    setText($('panic'), panic ? `panic: ${panic.lost}/${panic.total} lost` : '');
  }

  /** A state's button: only that state (again: all); with Ctrl, Cmd or Shift: add or take it away. */
  function setStateFilter(state, add) {
    const states = filter.states;
    if (add) {
      if (states.has(state)) states.delete(state);
      else states.add(state);
    } else if (states.size === 1 && states.has(state)) {
      states.clear();
    } else {
      states.clear();
      states.add(state);
    }
    filterChanged();
  }

  function filterChanged() {
    dirty.shown = true;
    dirty.summary = true;
    // A new list starts at its top.
    const top = $('cards').getBoundingClientRect().top;
    if (top < 0) window.scrollBy(0, top - headerHeight() - GAP_PX);
    schedule();
  }

  $('search').addEventListener('input', () => {
    filter.text = $('search').value.trim().toLowerCase();
    filterChanged();
  });
  $('clear-filter').addEventListener('click', () => {
    filter.states.clear();
    filter.text = '';
    $('search').value = '';
    filterChanged();
  });

  function headerHeight() {
    return $('topbar').offsetHeight;
  }

  // The list. #cards is a grid of `--cols` columns holding, in order, a spacer as tall as the rows
  // above the window, the cards of the rows in the window, and a spacer as tall as the rows
  // below. Rows are measured once drawn; rows never drawn count ESTIMATED_ROW_PX (then the
  // average of those measured). A card keeps its element while it stays in the window, so
  // focus, hover and observers survive every frame.
  const list = { cols: 0, heights: [], estimate: ESTIMATED_ROW_PX, first: 0, end: 0, version: -1, drawn: new Set() };
  const topSpacer = Object.assign(document.createElement('div'), { className: 'list-spacer' });
  const bottomSpacer = Object.assign(document.createElement('div'), { className: 'list-spacer' });
  topSpacer.setAttribute('aria-hidden', 'true');
  bottomSpacer.setAttribute('aria-hidden', 'true');
  $('cards').append(topSpacer, bottomSpacer);

  function rowOffsets(rows) {
    const offsets = new Float64Array(rows + 1);
    for (let row = 0; row < rows; row++) offsets[row + 1] = offsets[row] + (list.heights[row] ?? list.estimate);
    return offsets;
  }

  /** The first row whose bottom is below `y` (list coordinates). */
  function rowAt(offsets, y) {
    let low = 0;
    let high = offsets.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (offsets[middle + 1] <= y) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /**
   * Where the list is on the screen, and the card to hold in place: the focused one if it is in
   * view (the card just clicked stays under the pointer when the detail opens beside it), else the
   * first drawn whose bottom is in view.
   */
  function placeList() {
    const container = $('cards');
    const width = container.clientWidth;
    if (width <= 0) return null;
    let anchor = null;
    const focused = document.activeElement?.closest?.('.card');
    if (focused && list.drawn.has(focused.dataset.id)) {
      const rect = focused.getBoundingClientRect();
      if (rect.bottom > 0 && rect.top < window.innerHeight) anchor = { id: focused.dataset.id, top: rect.top };
    }
    for (const id of anchor ? [] : list.drawn) {
      const card = actors.get(id)?.card;
      if (!card) continue;
      const rect = card.getBoundingClientRect();
      if (rect.bottom > 0) {
        anchor = { id, top: rect.top };
        break;
      }
    }
    return { width, top: container.getBoundingClientRect().top, anchor };
  }

  function renderList({ width, top, anchor }) {
    const container = $('cards');
    const cols = Math.max(1, Math.floor((width + GAP_PX) / (CARD_MIN_PX + GAP_PX)));
    if (cols !== list.cols) {
      list.cols = cols;
      list.heights = [];
      list.version = -1; // the same rows hold other cards: the window is drawn again
      container.style.setProperty('--cols', String(cols));
      // Rows hold other cards now: bring the anchor's new row to where the anchor was.
      const index = anchor ? shown.indexOf(anchor.id) : -1;
      if (index >= 0) {
        const shift = top + Math.floor(index / cols) * list.estimate - anchor.top;
        window.scrollBy(0, shift);
        top -= shift;
      }
    }
    const rows = Math.ceil(shown.length / cols);
    if (list.heights.length > rows) list.heights.length = rows;
    const offsets = rowOffsets(rows);
    const first = rows === 0 ? 0 : rowAt(offsets, -top - OVERSCAN_PX);
    const end = rows === 0 ? 0 : Math.min(rows, Math.max(first + 1, rowAt(offsets, -top + window.innerHeight + OVERSCAN_PX) + 1));
    const changedRange = first !== list.first || end !== list.end || list.version !== shownVersion;
    if (!changedRange && dirty.cards.size === 0 && !dirty.tick) return;

    // Writes: the window's cards in order, new ones drawn whole, changed ones redrawn.
    if (changedRange) {
      const wanted = shown.slice(first * cols, Math.min(shown.length, end * cols));
      const keep = new Set(wanted);
      for (const id of list.drawn) {
        if (keep.has(id)) continue;
        const entry = actors.get(id);
        if (entry?.card) {
          entry.card.remove();
          entry.card = null;
          entry.passed.length = 0;
        }
      }
      let next = topSpacer.nextSibling;
      wanted.forEach((id, index) => {
        const entry = actors.get(id);
        if (!entry.card) {
          entry.card = createCard(id);
          renderCard(entry);
          dirty.cards.delete(id);
          if (entry.stale) refreshViews();
        }
        setAttr(entry.card, 'aria-posinset', String(first * cols + index + 1));
        setAttr(entry.card, 'aria-setsize', String(shown.length));
        if (entry.card === next) next = next.nextSibling;
        else container.insertBefore(entry.card, next);
      });
      list.drawn = keep;
      list.first = first;
      list.end = end;
      list.version = shownVersion;
    }
    for (const id of dirty.cards) {
      const entry = actors.get(id);
      if (entry?.card) renderCard(entry);
    }
    dirty.cards.clear();
    if (dirty.tick) {
      dirty.tick = false;
      for (const id of list.drawn) {
        const entry = actors.get(id);
        if (!entry?.card) continue;
        renderFacts(entry);
        renderErrorAge(entry);
      }
    }
    const spacerTop = offsets[first];
    topSpacer.style.height = `${spacerTop}px`;
    bottomSpacer.style.height = `${offsets[rows] - offsets[end]}px`;

    // Reads, in one layout: the drawn rows' real heights and where the anchor went.
    const tops = [];
    for (let row = first; row < end; row++) tops.push(actors.get(shown[row * cols])?.card?.offsetTop ?? 0);
    tops.push(bottomSpacer.offsetTop);
    const anchorCard = anchor ? actors.get(anchor.id)?.card : null;
    const anchorTop = anchorCard ? anchorCard.getBoundingClientRect().top : null;

    // Writes: the spacers as the measured rows say, and the anchor back where it was.
    let measured = false;
    for (let row = first; row < end; row++) {
      const height = tops[row - first + 1] - tops[row - first];
      if (height > 0 && list.heights[row] !== height) {
        list.heights[row] = height;
        measured = true;
      }
    }
    let shift = 0;
    if (measured) {
      let sum = 0;
      let count = 0;
      for (const height of list.heights) {
        if (height === undefined) continue;
        sum += height;
        count += 1;
      }
      if (count > 0) list.estimate = sum / count;
      const remeasured = rowOffsets(rows);
      shift = remeasured[first] - spacerTop;
      topSpacer.style.height = `${remeasured[first]}px`;
      bottomSpacer.style.height = `${remeasured[rows] - remeasured[end]}px`;
      schedule(); // the window may hold other rows now that they are measured
    }
    if (anchorTop !== null) {
      const delta = anchorTop + shift - anchor.top;
      if (Math.abs(delta) >= 1) window.scrollBy(0, delta);
    }
  }

  /** Scrolls the list to an actor's card (drawing it now) and returns the card, or null when not shown. */
  function reveal(id) {
    const index = shown.indexOf(id);
    if (index < 0 || $('main').hidden) return null;
    frame(); // the columns and measured rows as they are now
    const cols = Math.max(1, list.cols);
    const offsets = rowOffsets(Math.ceil(shown.length / cols));
    const row = Math.floor(index / cols);
    const top = $('cards').getBoundingClientRect().top + offsets[row];
    const header = headerHeight();
    if (top < header || top + (offsets[row + 1] - offsets[row]) > window.innerHeight) window.scrollBy(0, top - header - GAP_PX);
    frame();
    return actors.get(id)?.card ?? null;
  }

  function createCard(id) {
    const card = $('card-template').content.firstElementChild.cloneNode(true);
    card.dataset.id = id;
    return card;
  }

  // One listener for every card, drawn or not yet.
  $('cards').addEventListener('click', (event) => {
    const card = event.target.closest('.card');
    if (!card) return;
    const id = card.dataset.id;
    const button = event.target.closest('button');
    if (button?.dataset.command) return void command(id, button.dataset.command);
    if (button && !button.classList.contains('open-chart')) return;
    select(id);
  });
  $('cards').addEventListener('keydown', (event) => {
    if ((event.key === 'Enter' || event.key === ' ') && event.target.classList?.contains('card')) {
      event.preventDefault();
      select(event.target.dataset.id);
    }
  });

  window.addEventListener('scroll', schedule, { passive: true });
  window.addEventListener('resize', schedule);
  new ResizeObserver(schedule).observe($('cards'));

  function renderCard(entry) {
    const { card, view } = entry;
    // Every state passed through since the last frame, in order: a blip shorter than a frame
    // still reaches whoever watches the attribute (a transition, a mutation observer).
    for (const state of [...entry.passed, view.state]) if (card.dataset.state !== state) card.dataset.state = state;
    entry.passed.length = 0;
    const name = card.querySelector('.name');
    if (name.textContent !== view.id) {
      name.textContent = view.id;
      name.title = view.id;
    }
    const badge = card.querySelector('.badge.state');
    setText(badge, view.state);
    setAttr(badge, 'data-state', view.state);

    // The era the server negotiated: MCP 2026-07-28 ("modern") or the 2025-era protocol ("legacy").
    const era = view.era === 'modern' ? 'MCP 2026-07-28' : view.era === 'legacy' ? 'MCP 2025 (legacy)' : null;
    const meta = [view.transport, era, view.priority !== undefined ? `priority ${view.priority}` : null];
    if (view.waitingForSlot) meta.push('waiting for a reconnect slot');
    if (view.quarantinedUntil && view.quarantinedUntil > Date.now()) meta.push(`quarantined ${duration(view.quarantinedUntil - Date.now())} more`);
    setText(card.querySelector('.meta'), meta.filter(Boolean).join(' · ') || '\u00a0');

    const quality = view.quality;
    const score = card.querySelector('.score-value');
    setText(score, quality && typeof quality.score === 'number' ? String(Math.round(quality.score)) : '–');
    const color = !quality || typeof quality.score !== 'number' ? '' : quality.score >= 80 ? 'var(--healthy)' : quality.score >= 50 ? 'var(--degraded)' : 'var(--failed)';
    if (score.style.color !== color) score.style.color = color;
    const latency = [];
    if (quality?.latencyMs?.p50 != null) latency.push(`p50 ${ms(quality.latencyMs.p50)}`);
    if (quality?.latencyMs?.p95 != null) latency.push(`p95 ${ms(quality.latencyMs.p95)}`);
    if (quality?.successRate != null) latency.push(`${Math.round(quality.successRate * 100)}% ok`);
    const latencyText = card.querySelector('.latency');
    setText(latencyText, latency.join(' · ') || 'no samples yet');
    latencyText.title = latencyText.textContent;

    const trend = { improving: ' ↑', degrading: ' ↓' }[quality?.trend] ?? '';
    const label = card.querySelector('.score-label');
    setText(label, `quality${trend}`);
    label.title = quality?.trend ? `trend: ${quality.trend}` : '';

    renderFacts(entry);
    renderLastError(entry);
    renderNote(entry);
    renderButtons(entry);
    renderSpark(entry);
    card.classList.toggle('selected', selected === entry.id);
    setAttr(card.querySelector('.open-chart'), 'aria-expanded', String(selected === entry.id));
  }

  function renderFacts(entry) {
    const { view } = entry;
    const elapsed = performance.now() - entry.viewAt;
    const facts = [
      ['attempts', view.attempts ?? '–'],
      ['in state', typeof view.since === 'number' ? duration(Date.now() - view.since) : '–'],
    ];
    // Cluster mode: the instance supervising it (commands sent from here are forwarded there).
    if (typeof view.owner === 'string') facts.push(['owner', view.owner]);
    const process = view.process;
    if (process) {
      facts.push(['pid', process.pid ?? '–']);
      facts.push(['uptime', typeof process.uptimeMs === 'number' && process.pid != null ? duration(process.uptimeMs + elapsed) : '–']);
      facts.push(['restarts', process.restarts ?? 0]);
      const usage = [];
      if (typeof process.rssBytes === 'number') usage.push(`${(process.rssBytes / 1048576).toFixed(0)} MB`);
      if (typeof process.cpuRatio === 'number') usage.push(`${(process.cpuRatio * 100).toFixed(1)}% cpu`);
      facts.push(['memory · cpu', usage.join(' · ') || '–']);
      if (process.lastExit) facts.push(['last exit', process.lastExit.signal ?? `code ${process.lastExit.code}`]);
      // A leak trend (steady growth) is shown before the memory limit is hit, with the time left at that pace.
      const trend = process.memoryTrend;
      if (trend) facts.push(['memory trend', `+${(trend.bytesPerSecond / 1048576).toFixed(2)} MB/s${typeof trend.projectedLimitInSeconds === 'number' ? ` · limit in ${duration(trend.projectedLimitInSeconds * 1000)}` : ''}`]);
    }
    const box = entry.card.querySelector('.facts');
    const names = facts.map(([name]) => name).join('\n');
    if (box.dataset.names === names) {
      // The same facts as drawn: only their values change (every second, for the durations).
      facts.forEach(([, value], index) => {
        const dd = box.children[index].lastChild;
        const text = String(value);
        if (dd.textContent !== text) dd.textContent = text;
      });
      return;
    }
    box.dataset.names = names;
    const rows = facts.map(([name, value]) => {
      const div = document.createElement('div');
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = name;
      dd.textContent = String(value);
      div.dataset.fact = name;
      div.append(dt, dd);
      return div;
    });
    box.replaceChildren(...rows);
  }

  /**
   * Why the connection is not serving. An actor keeps its last error after it recovers, so once it
   * is healthy or degraded again the error is history (it stays in the transitions' reasons).
   */
  function renderLastError(entry) {
    const { view } = entry;
    const box = entry.card.querySelector('.last-error');
    const error = SERVING.has(view.state) ? null : view.lastError;
    if (box.hidden !== !error) box.hidden = !error;
    if (!error) return;
    const key = `${error.kind}\n${error.message}\n${error.at}`;
    if (box.dataset.key === key) return renderErrorAge(entry);
    box.dataset.key = key;
    const kind = document.createElement('b');
    kind.textContent = error.kind;
    box.querySelector('.last-error-text').replaceChildren(kind, ` ${error.message}`);
    box.title = `${error.kind}: ${error.message} (${DATE_TIME.format(error.at)})`;
    renderErrorAge(entry);
  }

  /** As Date#toLocaleString() writes it, with one formatter made once (making one per call is slow). */
  const DATE_TIME = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });

  function renderErrorAge(entry) {
    const error = entry.view.lastError;
    const box = entry.card.querySelector('.last-error');
    if (box.hidden || !error || typeof error.at !== 'number') return;
    setText(box.querySelector('.ago'), `${duration(Date.now() - error.at)} ago`);
  }

  function renderNote(entry) {
    const note = entry.card.querySelector('.action-note');
    setText(note, entry.note);
    note.classList.toggle('error', entry.noteError);
  }

  /** What the connection accepts in its state: start only when stopped, stop and reconnect unless stopped. */
  const COMMANDS = {
    reconnect: (state) => state !== 'stopped',
    stop: (state) => state !== 'stopped',
    start: (state) => state === 'stopped',
  };

  function renderButtons(entry) {
    const state = entry.view.state;
    for (const button of entry.card.querySelectorAll('button[data-command]')) {
      const name = button.dataset.command;
      const disabled = entry.pending === name || !COMMANDS[name]?.(state);
      if (button.disabled !== disabled) button.disabled = disabled;
    }
  }

  const SVG = 'http://www.w3.org/2000/svg';

  function renderSpark(entry) {
    if (entry.card.sparkDrawn === entry.sparkVersion) return;
    entry.card.sparkDrawn = entry.sparkVersion;
    const svg = entry.card.querySelector('svg.spark');
    const samples = entry.samples.slice(-SPARK_POINTS);
    const width = 160;
    const height = 36;
    const pad = 4;
    // Spread over the whole width until there are enough samples to scroll.
    const step = width / Math.max(1, Math.min(SPARK_POINTS, Math.max(samples.length, 2)) - 1);
    const latencies = samples.filter((sample) => sample.ok && sample.latencyMs != null).map((sample) => sample.latencyMs);
    const max = Math.max(1, ...latencies);
    const points = [];
    const fails = [];
    samples.forEach((sample, index) => {
      const x = width - (samples.length - 1 - index) * step;
      if (sample.ok && sample.latencyMs != null) {
        points.push(`${x.toFixed(1)},${(height - pad - (sample.latencyMs / max) * (height - 2 * pad)).toFixed(1)}`);
      } else {
        const line = document.createElementNS(SVG, 'line');
        line.setAttribute('x1', x.toFixed(1));
        line.setAttribute('x2', x.toFixed(1));
        line.setAttribute('y1', '0');
        line.setAttribute('y2', String(height));
        line.setAttribute('stroke', 'var(--failed)');
        line.setAttribute('stroke-width', '1.5');
        line.setAttribute('vector-effect', 'non-scaling-stroke');
        fails.push(line);
      }
    });
    svg.querySelector('polyline').setAttribute('points', points.join(' '));
    const area = points.length > 1 ? `${points[0].split(',')[0]},${height} ${points.join(' ')} ${points[points.length - 1].split(',')[0]},${height}` : '';
    svg.querySelector('polygon').setAttribute('points', area);
    const group = svg.querySelector('g.fails');
    if (fails.length > 0 || group.firstChild) group.replaceChildren(...fails);
    svg.dataset.points = String(samples.length);
    svg.parentElement.title = latencies.length ? `last ${samples.length} probes; max ${ms(max)}` : '';
  }

  function select(id) {
    const previous = selected;
    selected = id;
    const hash = id ? `#${encodeURIComponent(id)}` : '';
    if (location.hash !== hash) history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
    if (previous !== id) {
      const before = previous ? actors.get(previous) : undefined;
      if (before) before.detail = null; // only the selected actor's detail is kept (and kept fresh)
      clearTimeout(detailRead.followUp);
    }
    for (const other of [previous, id]) {
      const entry = other ? actors.get(other) : undefined;
      if (!entry?.card) continue;
      entry.card.classList.toggle('selected', entry.id === id);
      entry.card.querySelector('.open-chart').setAttribute('aria-expanded', String(entry.id === id));
    }
    renderDetail();
    if (previous !== id) for (const listener of selectListeners) listener(id);
    if (id) {
      if (chart.status === 'unloaded') void loadStatechart();
      const entry = actors.get(id);
      if (entry && !entry.detail) refreshDetail();
    }
  }

  $('detail-close').addEventListener('click', () => select(null));
  // Escape closes the statechart and puts the focus back on the card it belongs to.
  document.addEventListener('keydown', (event) => {
    // (In the filter box, Escape clears the filter.)
    if (event.key !== 'Escape' || !selected || $('detail').hidden || !$('login').hidden || event.target === $('search')) return;
    const id = selected;
    select(null);
    reveal(id)?.focus();
  });
  $('chart-zoom').addEventListener('click', () => {
    chart.zoomed = !chart.zoomed;
    chart.centeredOn = null;
    renderDetail();
  });

  function renderDetail() {
    const entry = selected ? actors.get(selected) : undefined;
    $('detail').hidden = !entry;
    if (!entry) return;
    const { view, detail } = entry;
    $('detail').dataset.id = entry.id;
    $('detail-title').textContent = entry.id;
    const badge = $('detail-state');
    badge.textContent = view.state;
    badge.dataset.state = view.state;
    const paths = statePaths(entry);
    const deepest = paths[paths.length - 1];
    const sub = [view.transport, deepest !== statePath(view.state) ? `in ${deepest}` : null];
    if (detail?.required) sub.push('required');
    if (detail?.dependsOn?.length) sub.push(`depends on ${detail.dependsOn.join(', ')}`);
    $('detail-sub').textContent = sub.filter(Boolean).join(' · ');
    renderStatechart(paths, view.state);
    renderTransitions(detail?.history ?? []);
  }

  /** `serving`, `serving.healthy`, `serving.healthy.probing`, … for the selected actor, outermost first. */
  function statePaths(entry) {
    const state = entry.view.state;
    const value = entry.detail?.snapshot?.value;
    const walk = (node, prefix) => {
      if (typeof node === 'string') return [`${prefix}${node}`];
      if (!node || typeof node !== 'object') return [];
      return Object.entries(node).flatMap(([key, child]) => [`${prefix}${key}`, ...walk(child, `${prefix}${key}.`)]);
    };
    const paths = walk(value, '');
    // The snapshot may lag a transition that already arrived on the stream: the state wins.
    if (paths.includes(statePath(state))) return paths;
    return SERVING.has(state) ? ['serving', statePath(state)] : [state];
  }

  /** Where a state sits in the chart: `healthy` and `degraded` are children of `serving`. */
  function statePath(state) {
    return SERVING.has(state) ? `serving.${state}` : state;
  }

  async function loadStatechart() {
    chart.status = 'loading';
    try {
      const response = await api('/statecharts/connection.svg');
      if (!response.ok) {
        await response.body?.cancel();
        chart.status = 'missing';
      } else {
        const text = await response.text();
        const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
        const svg = doc.documentElement;
        if (svg.localName !== 'svg' || doc.getElementsByTagName('parsererror').length > 0) {
          chart.status = 'missing';
        } else {
          for (const script of svg.querySelectorAll('script, foreignObject')) script.remove();
          for (const element of [svg, ...svg.querySelectorAll('*')]) {
            for (const attribute of [...element.attributes]) if (/^on/i.test(attribute.name)) element.removeAttribute(attribute.name);
          }
          if (!svg.hasAttribute('viewBox') && svg.hasAttribute('width') && svg.hasAttribute('height')) {
            svg.setAttribute('viewBox', `0 0 ${parseFloat(svg.getAttribute('width'))} ${parseFloat(svg.getAttribute('height'))}`);
          }
          svg.removeAttribute('width');
          svg.removeAttribute('height');
          chart.svg = document.importNode(svg, true);
          chart.labels = null;
          chart.status = 'svg';
        }
      }
    } catch (error) {
      if (error instanceof Unauthorized) {
        chart.status = 'unloaded';
        if (onUnauthorized(error)) return;
        // Stale (sent before the latest token): read it again, under this one.
        if (selected) return void loadStatechart();
        return;
      }
      chart.status = 'missing';
    }
    renderDetail();
  }

  /** The box of a state (`healthy.probing`): by data-state, else by the ids the generator uses. */
  function findState(svg, path) {
    const ids = [path, `connection.${path}`, `state-${path.replace(/[^A-Za-z0-9_-]/g, '_')}`];
    return (
      svg.querySelector(`[data-state="${CSS.escape(path)}"]`) ??
      ids.map((id) => svg.querySelector(`[id="${CSS.escape(id)}"]`)).find(Boolean) ??
      null
    );
  }

  function renderStatechart(paths, state) {
    const container = $('statechart');
    container.dataset.mode = chart.status;
    if (chart.status === 'unloaded' || chart.status === 'loading') {
      container.replaceChildren(Object.assign(document.createElement('p'), { className: 'muted', textContent: 'loading…' }));
      return;
    }
    const nodes = [];
    let matched = false;
    if (chart.status === 'svg') {
      const svg = chart.svg;
      for (const element of svg.querySelectorAll('.sc-active, .sc-current')) element.classList.remove('sc-active', 'sc-current');
      let deepest = null;
      for (const path of paths) {
        const element = findState(svg, path);
        if (!element) continue;
        element.classList.add('sc-active');
        deepest = element;
      }
      if (deepest) {
        deepest.classList.add('sc-current');
        matched = true;
      }
      nodes.push(svg);
    }
    $('chart-zoom').hidden = chart.status !== 'svg';
    container.dataset.state = state;
    if (!matched) {
      // No chart (or no box for this state in it): the seven states, the current one marked.
      const list = document.createElement('ul');
      list.className = 'state-list';
      for (const name of STATES) {
        const item = document.createElement('li');
        item.dataset.state = name;
        item.textContent = name;
        if (name === state) item.classList.add('current');
        list.append(item);
      }
      nodes.push(list);
    }
    // Keep the same SVG element in place: re-inserting it would restart its layout each event.
    if (nodes.length !== container.childNodes.length || nodes.some((node, index) => container.childNodes[index] !== node)) {
      container.replaceChildren(...nodes);
    }
    if (chart.status === 'svg') zoomChart(container, paths);
  }

  /**
   * Sizes the chart. Zoomed, it shows the current state (the outermost one that fits) when that
   * changed, placed so that no edge label is cut by the container's edges: the nearest position
   * that cuts none. Margins of half a view around the chart let a view near its edges move out
   * past them when that is what keeps a label whole.
   */
  function zoomChart(container, paths) {
    const svg = chart.svg;
    const viewBox = svg.viewBox?.baseVal;
    const zoomed = chart.zoomed && viewBox && viewBox.width > 0 && viewBox.height > 0;
    $('chart-zoom').textContent = chart.zoomed ? 'whole chart' : 'zoom to state';
    container.classList.toggle('zoomed', Boolean(zoomed));
    if (!zoomed) {
      svg.style.width = '';
      svg.style.margin = '';
      chart.centeredOn = null;
      chart.scale = null;
      return;
    }
    const fontSize = parseFloat(svg.getAttribute('font-size') ?? '') || 12;
    const nominal = Math.min(1, ZOOMED_FONT_PX / fontSize);
    svg.style.width = `${viewBox.width * (chart.scale ?? nominal)}px`;
    let view = { width: container.clientWidth, height: container.clientHeight };
    if (view.width <= 0 || view.height <= 0) return; // not laid out yet: placed on the next render
    const focus = focusOf(svg, paths, view, nominal);
    if (!focus || chart.centeredOn === focus.path) return;
    chart.centeredOn = focus.path;
    // Placed again if the view changed size meanwhile (a scrollbar came or went).
    for (let pass = 0; pass < 2; pass++) {
      const margin = { x: Math.round(view.width / 2), y: Math.round(view.height / 2) };
      let placed = null;
      // Small enough to show the whole chart, any position will do: this ends.
      for (let scale = nominal; !placed; scale *= 0.9) placed = placeView(focus.box, scale, view, margin, viewBox, chartLabels(svg));
      chart.scale = placed.scale;
      svg.style.width = `${viewBox.width * placed.scale}px`;
      svg.style.margin = `${margin.y}px ${margin.x}px`;
      container.scrollLeft = Math.round(margin.x + placed.x * placed.scale);
      container.scrollTop = Math.round(margin.y + placed.y * placed.scale);
      if (container.clientWidth === view.width && container.clientHeight === view.height) break;
      view = { width: container.clientWidth, height: container.clientHeight };
    }
  }

  /** The outermost current state whose box fits the view at the zoomed scale, else the innermost. */
  function focusOf(svg, paths, view, scale) {
    let focus = null;
    for (const path of paths) {
      const element = findState(svg, path);
      const box = element && boxOf(element);
      if (!box) continue;
      focus = { path, box };
      if (box.width * scale <= view.width - 24 && box.height * scale <= view.height - 24) break;
    }
    return focus;
  }

  /** The chart's edge labels in its own units: each is a rect and its lines of text, drawn straight under the root. */
  function chartLabels(svg) {
    if (chart.labels) return chart.labels;
    const labels = [];
    let label = null;
    for (const element of svg.children) {
      const isText = element.localName === 'text';
      // The background is a rect too, without a position.
      const isBox = element.localName === 'rect' && element.hasAttribute('x');
      if (!isText && !isBox) {
        label = null;
        continue;
      }
      const box = boxOf(element);
      if (!box) continue;
      if (isText && label) {
        const right = Math.max(label.x + label.width, box.x + box.width);
        const bottom = Math.max(label.y + label.height, box.y + box.height);
        label.x = Math.min(label.x, box.x);
        label.y = Math.min(label.y, box.y);
        label.width = right - label.x;
        label.height = bottom - label.y;
      } else {
        label = { ...box };
        labels.push(label);
      }
    }
    chart.labels = labels;
    return labels;
  }

  function boxOf(element) {
    try {
      const { x, y, width, height } = element.getBBox();
      return { x, y, width, height };
    } catch {
      return null;
    }
  }

  /**
   * Where the view goes at this scale (its top left corner, in chart units from the chart's):
   * holding `focus`, as near its centre as lets every label the view touches be whole in it,
   * the chart filling the view where it can. Null when no position does.
   */
  function placeView(focus, scale, view, margin, viewBox, labels) {
    const size = { x: view.width / scale, y: view.height / scale };
    const total = { x: viewBox.width, y: viewBox.height };
    const spans = (axis) => {
      const origin = axis === 'x' ? viewBox.x : viewBox.y;
      const extent = axis === 'x' ? 'width' : 'height';
      return (box) => [box[axis] - origin, box[axis] - origin + box[extent]];
    };
    const candidates = (axis) => {
      const span = spans(axis);
      const [from, to] = span(focus);
      const length = size[axis];
      const max = total[axis] - length;
      // Centred on the focus when it fits (else from its top left corner), but not past the chart's edges.
      const wanted = to - from <= length ? (from + to) / 2 - length / 2 : from - 12;
      const ideal = max <= 0 ? max / 2 : Math.min(max, Math.max(0, wanted));
      const low = Math.min(0, max / 2) - margin[axis] / scale;
      const high = Math.max(max, max / 2) + margin[axis] / scale;
      const gap = 4;
      const raw = [ideal];
      for (const [a, b] of labels.map(span)) raw.push(a - gap, b + gap, b + gap - length, a - gap - length);
      const holdsFocus = to - from <= length;
      const found = raw
        .map((at) => Math.min(high, Math.max(low, at)))
        .filter((at) => !holdsFocus || (at <= from && at + length >= to))
        // Moving out past the chart's edges shows nothing: it costs more than moving along it.
        .map((at) => ({ at, distance: Math.abs(at - ideal) + 2 * Math.max(0, -at, at - Math.max(0, max)) }));
      return { ideal, found };
    };
    const xs = candidates('x');
    const ys = candidates('y');
    const spanX = spans('x');
    const spanY = spans('y');
    const boxes = labels.map((label) => [...spanX(label), ...spanY(label)]);
    const pairs = [];
    for (const x of xs.found) for (const y of ys.found) pairs.push({ x: x.at, y: y.at, distance: x.distance ** 2 + y.distance ** 2 });
    pairs.sort((a, b) => a.distance - b.distance);
    // Within a unit counts as touching: scroll offsets are whole pixels.
    const cuts = (x, y) => ([left, right, top, bottom]) => {
      const seen = left < x + size.x + 1 && right > x - 1 && top < y + size.y + 1 && bottom > y - 1;
      return seen && (left < x || right > x + size.x || top < y || bottom > y + size.y);
    };
    const best = pairs.find(({ x, y }) => !boxes.some(cuts(x, y)));
    return best ? { scale, x: best.x, y: best.y } : null;
  }

  function renderTransitions(history) {
    const items = history
      .slice(-TRANSITIONS_SHOWN)
      .reverse()
      .map((record) => {
        const item = document.createElement('li');
        item.dataset.to = record.to;
        const time = document.createElement('time');
        time.dateTime = new Date(record.at).toISOString();
        time.textContent = clock(record.at);
        const text = document.createElement('span');
        const to = document.createElement('span');
        to.className = 'to';
        to.dataset.state = record.to;
        to.textContent = record.to;
        text.append(`${record.from ?? '(start)'} → `, to);
        if (record.reason) {
          const reason = document.createElement('span');
          reason.className = 'reason';
          reason.textContent = record.reason;
          text.append(reason);
        }
        item.append(time, text);
        return item;
      });
    if (items.length === 0) items.push(Object.assign(document.createElement('li'), { className: 'muted', textContent: 'none yet' }));
    $('transitions').replaceChildren(...items);
  }


  // ---------------------------------------------------------------------------------------------
  // formatting

  function ms(value) {
    return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : value >= 10 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`;
  }

  function duration(value) {
    const seconds = Math.max(0, Math.floor(value / 1000));
    if (seconds < 60) return `${seconds}s`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
    return `${Math.floor(hours / 24)}d ${hours % 24}h`;
  }

  function clock(at) {
    const date = new Date(at);
    const pad = (n, width = 2) => String(n).padStart(width, '0');
    return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
  }

  // Durations move on by themselves (on the cards in view).
  setInterval(() => {
    dirty.tick = true;
    schedule();
  }, 1000);
  // Process CPU and memory change without events: the views are read again now and then, less
  // often for a fleet that takes long to read.
  setInterval(() => {
    if (loginShown || document.hidden || !loaded || $('main').hidden) return;
    const every = Math.max(POLL_MS, 2 * REFRESH_COST_FACTOR * refresh.costMs);
    if (Date.now() - Math.max(refresh.last, refresh.loadedAt) >= every) refreshViews();
  }, 1000);

  window.addEventListener('hashchange', () => {
    const id = idFromHash();
    if (id !== selected) {
      select(id);
      if (id) reveal(id);
    }
  });

  // After the page's other scripts (inlined after this one) have registered their listeners.
  queueMicrotask(start);
})();
