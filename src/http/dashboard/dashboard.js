// The dashboard's whole client: plain browser JavaScript, inlined into GET / as it is (no build).
// Reads /actors and /actors/:id, follows /events with fetch() (EventSource cannot send the
// Authorization header) and resumes it with Last-Event-ID when it drops.
'use strict';
(() => {
  const TOKEN_KEY = 'mcp-supervisor.token';
  const STATES = ['connecting', 'healthy', 'degraded', 'zombie', 'reconnecting', 'failed', 'stopped'];
  /** The states under the chart's `serving` parent (the two that answer calls). */
  const SERVING = new Set(['healthy', 'degraded']);
  const SPARK_POINTS = 40;
  /** Probe and call events refresh an actor's quality at most this often. */
  const QUIET_REFRESH_MS = 1000;
  /** Keep-alives come every 15 s; a stream silent for longer than this is considered dead. */
  const STREAM_IDLE_MS = 45000;
  const TRANSITIONS_SHOWN = 30;
  /** Process CPU and memory change without events; /actors is re-read this often. */
  const POLL_MS = 5000;
  /** A process ends (or starts) a moment after its transition: look again this much later. */
  const FOLLOW_UP_MS = 1500;

  const $ = (id) => document.getElementById(id);

  /** The selected actor's id, kept in the URL's fragment. */
  function idFromHash() {
    try {
      return decodeURIComponent(location.hash.slice(1)) || null;
    } catch {
      return null;
    }
  }

  /** id -> { id, card, view, viewAt, detail, samples, seeded, appliedSeq, inflight, again, timer, lastQuietRefresh } */
  const actors = new Map();
  let selected = idFromHash();
  let lastEventId = null;
  let stream = null;
  let needsFullLoad = true;
  let requestSeq = 0;
  let loginShown = false;
  let panic = null;
  /** The generated chart: shown zoomed to the current state (readable), or whole. */
  const chart = { status: 'unloaded', svg: null, zoomed: true, centeredOn: null, scale: null, labels: null };
  /** Zoomed, the chart's text is drawn at about this many pixels. */
  const ZOOMED_FONT_PX = 8.5;

  class Unauthorized extends Error {}

  // ---------------------------------------------------------------------------------------------
  // API

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  async function api(path, init = {}) {
    const headers = new Headers(init.headers);
    const value = token();
    if (value) headers.set('authorization', `Bearer ${value}`);
    const response = await fetch(path, { ...init, headers, cache: 'no-store' });
    if (response.status === 401) {
      await response.body?.cancel();
      throw new Unauthorized('unauthorized');
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

  // ---------------------------------------------------------------------------------------------
  // token

  function showLogin(message) {
    stopStream();
    loginShown = true;
    $('main').hidden = true;
    $('sign-out').hidden = true;
    $('login').hidden = false;
    $('login-error').hidden = !message;
    $('login-error').textContent = message ?? '';
    setStreamStatus('idle');
    $('token-input').focus();
  }

  function onUnauthorized() {
    if (loginShown) return;
    const had = token() !== null;
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(had ? 'That token was not accepted.' : undefined);
  }

  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('token-input').value.trim();
    if (!value) return;
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
  }

  /** Reads /actors; `details` also re-reads every actor's detail (history, samples, snapshot). */
  async function loadAll(details = true) {
    if (details) needsFullLoad = false;
    const seq = ++requestSeq;
    try {
      const { actors: views } = await apiJson('/actors');
      const ids = new Set(views.map((view) => view.id));
      for (const id of [...actors.keys()]) if (!ids.has(id)) removeActor(id);
      for (const view of views) {
        const known = actors.has(view.id);
        const entry = ensure(view.id);
        applyView(entry, view, seq);
        $('cards').append(entry.card); // keep the API's order
        if (details || !known) refreshActor(view.id);
      }
      $('main').hidden = false;
      $('fatal').hidden = true;
      $('empty').hidden = views.length > 0;
      if (selected && !actors.has(selected)) select(null);
      else select(selected);
      renderSummary();
    } catch (error) {
      if (error instanceof Unauthorized) return onUnauthorized();
      if (!details) return;
      needsFullLoad = true;
      showFatal(`Could not read /actors: ${error.message}`);
      setTimeout(() => {
        if (needsFullLoad && !loginShown) void loadAll();
      }, 3000);
    }
  }

  /** Re-reads one actor; coalesced, so a burst of events costs at most two requests. */
  function refreshActor(id) {
    const entry = ensure(id);
    if (entry.inflight) {
      entry.again = true;
      return;
    }
    entry.inflight = true;
    const seq = ++requestSeq;
    apiJson(actorPath(id))
      .then((detail) => applyDetail(entry, detail, seq))
      .catch((error) => {
        if (error instanceof Unauthorized) onUnauthorized();
        else if (error.status === 404) removeActor(id);
      })
      .finally(() => {
        entry.inflight = false;
        if (entry.again && actors.get(id) === entry) {
          entry.again = false;
          refreshActor(id);
        }
      });
  }

  /** For frequent events (probes, calls): one refresh per QUIET_REFRESH_MS, the last one never lost. */
  function refreshQuietly(id) {
    const entry = actors.get(id);
    if (!entry || entry.timer) return;
    const wait = Math.max(0, entry.lastQuietRefresh + QUIET_REFRESH_MS - Date.now());
    entry.timer = setTimeout(() => {
      entry.timer = null;
      entry.lastQuietRefresh = Date.now();
      if (actors.get(id) === entry) refreshActor(id);
    }, wait);
  }

  function showFatal(message) {
    $('fatal').textContent = message;
    $('fatal').hidden = false;
  }

  // ---------------------------------------------------------------------------------------------
  // state

  function ensure(id) {
    let entry = actors.get(id);
    if (entry) return entry;
    const card = $('card-template').content.firstElementChild.cloneNode(true);
    card.dataset.id = id;
    entry = {
      id,
      card,
      view: { id, state: 'connecting' },
      viewAt: performance.now(),
      detail: null,
      samples: [],
      seeded: false,
      appliedSeq: 0,
      inflight: false,
      again: false,
      timer: null,
      followUp: null,
      lastQuietRefresh: 0,
      pending: null,
    };
    actors.set(id, entry);
    card.addEventListener('click', (event) => {
      if (event.target.closest('button')) return;
      select(id);
    });
    card.addEventListener('keydown', (event) => {
      if ((event.key === 'Enter' || event.key === ' ') && event.target === card) {
        event.preventDefault();
        select(id);
      }
    });
    for (const button of card.querySelectorAll('button[data-command]')) {
      button.addEventListener('click', () => void command(entry, button.dataset.command, button));
    }
    card.querySelector('.open-chart').addEventListener('click', () => select(id));
    $('cards').append(card);
    $('empty').hidden = true;
    return entry;
  }

  function removeActor(id) {
    const entry = actors.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    clearTimeout(entry.followUp);
    entry.card.remove();
    actors.delete(id);
    if (selected === id) select(null);
    $('empty').hidden = actors.size > 0;
    renderSummary();
  }

  function applyView(entry, view, seq) {
    if (seq < entry.appliedSeq) return false; // an answer older than what is shown
    entry.appliedSeq = seq;
    entry.view = view;
    entry.viewAt = performance.now();
    renderCard(entry);
    renderSummary();
    return true;
  }

  function applyDetail(entry, detail, seq) {
    if (actors.get(entry.id) !== entry || !applyView(entry, detail, seq)) return;
    entry.detail = detail;
    if (!entry.seeded) {
      entry.seeded = true;
      const recent = detail.snapshot?.context?.recentSamples ?? [];
      entry.samples = recent.map((sample) => ({ ok: sample.ok, latencyMs: sample.ok ? sample.latencyMs : null })).concat(entry.samples).slice(-SPARK_POINTS);
      renderSpark(entry);
    }
    if (selected === entry.id) renderDetail();
  }

  function applyTransition(event) {
    const entry = ensure(event.id);
    entry.appliedSeq = ++requestSeq; // answers to requests sent before this event are stale
    entry.view = { ...entry.view, state: event.to, since: event.at };
    entry.viewAt = performance.now();
    if (entry.detail) {
      entry.detail.state = event.to;
      entry.detail.history = [...(entry.detail.history ?? []), { from: event.from, to: event.to, at: event.at, reason: event.reason }];
    }
    renderCard(entry);
    renderSummary();
    if (selected === entry.id) renderDetail();
    refreshActor(event.id);
    clearTimeout(entry.followUp);
    entry.followUp = setTimeout(() => {
      if (actors.get(entry.id) === entry) refreshActor(entry.id);
    }, FOLLOW_UP_MS);
  }

  function applyProbe(event) {
    const entry = actors.get(event.id);
    if (!entry) return;
    const ok = event.outcome === 'fast' || event.outcome === 'slow';
    entry.samples.push({ ok, latencyMs: ok && typeof event.latencyMs === 'number' ? event.latencyMs : null });
    if (entry.samples.length > SPARK_POINTS) entry.samples.splice(0, entry.samples.length - SPARK_POINTS);
    renderSpark(entry);
    refreshQuietly(event.id);
  }

  async function command(entry, name, button) {
    const note = entry.card.querySelector('.action-note');
    entry.pending = name;
    button.disabled = true;
    note.classList.remove('error');
    note.textContent = `${name}…`;
    try {
      await apiJson(`${actorPath(entry.id)}/${name}`, { method: 'POST' });
      note.textContent = ''; // the card's next transition is the answer
    } catch (error) {
      if (error instanceof Unauthorized) return onUnauthorized();
      note.classList.add('error');
      note.textContent = `${name} failed: ${error.message}`;
    } finally {
      entry.pending = null;
      renderButtons(entry);
      clearTimeout(entry.noteTimer);
      entry.noteTimer = setTimeout(() => {
        note.textContent = '';
        note.classList.remove('error');
      }, 4000);
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
          if (error instanceof Unauthorized) {
            onUnauthorized();
            break;
          }
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
        buffer += value;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          dispatch(block);
        }
      }
    } finally {
      clearTimeout(idle);
    }
  }

  function dispatch(block) {
    let type = 'message';
    let data;
    for (const rawLine of block.split('\n')) {
      const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
      else if (field === 'id') lastEventId = value;
    }
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

  function handle(type, event) {
    switch (type) {
      case 'state.changed':
        return applyTransition(event);
      case 'probe.completed':
        return applyProbe(event);
      case 'call.completed':
      case 'slot.granted':
      case 'quarantine.started':
        return refreshQuietly(event.id);
      case 'server.added':
        return refreshActor(event.id);
      case 'server.removed':
        return removeActor(event.id);
      case 'panic.started':
        panic = event;
        return renderSummary();
      case 'panic.ended':
        panic = null;
        return renderSummary();
      case 'gap':
      case 'reset':
        // Events were missed (evicted, or a new supervisor process): read everything again.
        return void loadAll();
      default:
        return undefined;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // rendering

  function renderSummary() {
    const counts = new Map();
    for (const entry of actors.values()) counts.set(entry.view.state, (counts.get(entry.view.state) ?? 0) + 1);
    const parts = [];
    for (const state of STATES) {
      const count = counts.get(state);
      if (!count) continue;
      const span = document.createElement('span');
      span.className = 'count';
      span.dataset.state = state;
      const dot = document.createElement('i');
      dot.style.background = `var(--${state})`;
      span.append(dot, `${count} ${state}`);
      parts.push(span);
    }
    if (panic) {
      const span = document.createElement('span');
      span.className = 'count error';
      span.textContent = `panic: ${panic.lost}/${panic.total} lost`;
      parts.push(span);
    }
    $('summary').replaceChildren(...parts);
  }

  function renderCard(entry) {
    const { card, view } = entry;
    card.dataset.state = view.state;
    card.querySelector('.name').textContent = view.id;
    card.querySelector('.name').title = view.id;
    const badge = card.querySelector('.badge.state');
    badge.textContent = view.state;
    badge.dataset.state = view.state;

    // The era the server negotiated: MCP 2026-07-28 ("modern") or the 2025-era protocol ("legacy").
    const era = view.era === 'modern' ? 'MCP 2026-07-28' : view.era === 'legacy' ? 'MCP 2025 (legacy)' : null;
    const meta = [view.transport, era, view.priority !== undefined ? `priority ${view.priority}` : null];
    if (view.waitingForSlot) meta.push('waiting for a reconnect slot');
    if (view.quarantinedUntil && view.quarantinedUntil > Date.now()) meta.push(`quarantined ${duration(view.quarantinedUntil - Date.now())} more`);
    card.querySelector('.meta').textContent = meta.filter(Boolean).join(' · ') || '\u00a0';

    const quality = view.quality;
    const score = card.querySelector('.score-value');
    score.textContent = quality && typeof quality.score === 'number' ? String(Math.round(quality.score)) : '–';
    score.style.color = !quality || typeof quality.score !== 'number' ? '' : quality.score >= 80 ? 'var(--healthy)' : quality.score >= 50 ? 'var(--degraded)' : 'var(--failed)';
    const latency = [];
    if (quality?.latencyMs?.p50 != null) latency.push(`p50 ${ms(quality.latencyMs.p50)}`);
    if (quality?.latencyMs?.p95 != null) latency.push(`p95 ${ms(quality.latencyMs.p95)}`);
    if (quality?.successRate != null) latency.push(`${Math.round(quality.successRate * 100)}% ok`);
    const latencyText = card.querySelector('.latency');
    latencyText.textContent = latency.join(' · ') || 'no samples yet';
    latencyText.title = latencyText.textContent;

    const trend = { improving: ' ↑', degrading: ' ↓' }[quality?.trend] ?? '';
    const label = card.querySelector('.score-label');
    label.textContent = `quality${trend}`;
    label.title = quality?.trend ? `trend: ${quality.trend}` : '';

    renderFacts(entry);

    renderLastError(entry);
    renderButtons(entry);
    renderSpark(entry);
    card.classList.toggle('selected', selected === entry.id);
    card.querySelector('.open-chart').setAttribute('aria-expanded', String(selected === entry.id));
  }

  function renderFacts(entry) {
    const { view } = entry;
    const elapsed = performance.now() - entry.viewAt;
    const facts = [
      ['attempts', view.attempts ?? '–'],
      ['in state', typeof view.since === 'number' ? duration(Date.now() - view.since) : '–'],
    ];
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
    }
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
    entry.card.querySelector('.facts').replaceChildren(...rows);
  }

  /**
   * Why the connection is not serving. An actor keeps its last error after it recovers, so once it
   * is healthy or degraded again the error is history (it stays in the transitions' reasons).
   */
  function renderLastError(entry) {
    const { view } = entry;
    const box = entry.card.querySelector('.last-error');
    const error = SERVING.has(view.state) ? null : view.lastError;
    box.hidden = !error;
    if (!error) return;
    const kind = document.createElement('b');
    kind.textContent = error.kind;
    box.querySelector('.last-error-text').replaceChildren(kind, ` ${error.message}`);
    box.title = `${error.kind}: ${error.message} (${new Date(error.at).toLocaleString()})`;
    renderErrorAge(entry);
  }

  function renderErrorAge(entry) {
    const error = entry.view.lastError;
    const box = entry.card.querySelector('.last-error');
    if (box.hidden || !error || typeof error.at !== 'number') return;
    box.querySelector('.ago').textContent = `${duration(Date.now() - error.at)} ago`;
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
      button.disabled = entry.pending === name || !COMMANDS[name]?.(state);
    }
  }

  const SVG = 'http://www.w3.org/2000/svg';

  function renderSpark(entry) {
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
    svg.querySelector('g.fails').replaceChildren(...fails);
    svg.dataset.points = String(samples.length);
    svg.parentElement.title = latencies.length ? `last ${samples.length} probes; max ${ms(max)}` : '';
  }

  function select(id) {
    selected = id;
    const hash = id ? `#${encodeURIComponent(id)}` : '';
    if (location.hash !== hash) history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
    for (const entry of actors.values()) {
      entry.card.classList.toggle('selected', entry.id === id);
      entry.card.querySelector('.open-chart').setAttribute('aria-expanded', String(entry.id === id));
    }
    renderDetail();
    if (id) {
      if (chart.status === 'unloaded') void loadStatechart();
      const entry = actors.get(id);
      if (entry && !entry.detail) refreshActor(id);
    }
  }

  $('detail-close').addEventListener('click', () => select(null));
  // Escape closes the statechart and puts the focus back on the card it belongs to.
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || !selected || $('detail').hidden || !$('login').hidden) return;
    const card = actors.get(selected)?.card;
    select(null);
    card?.focus();
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
        return onUnauthorized();
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

  // Durations move on by themselves.
  setInterval(() => {
    for (const entry of actors.values()) {
      renderFacts(entry);
      renderErrorAge(entry);
    }
  }, 1000);
  setInterval(() => {
    if (!loginShown && !document.hidden && !$('main').hidden) void loadAll(false);
  }, POLL_MS);

  window.addEventListener('hashchange', () => {
    const id = idFromHash();
    if (id !== selected) select(id);
  });

  start();
})();
