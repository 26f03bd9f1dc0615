// The selected server's log panel (docs/operations.md, "Server logs"): a live tail of
// GET /actors/:id/logs?follow=1 read with fetch() (as dashboard.js reads /events: EventSource
// cannot send the token), a search box (`grep`, a case-insensitive plain substring) and a stream
// filter, both applied by the API to the history (files and ring) and to the live lines.
// Inlined into GET / after dashboard.js, in a closure of its own; it reaches the page only through
// window.mcpDashboard. Log lines are hostile input: they are shown with textContent only.
'use strict';
(() => {
  const dashboard = window.mcpDashboard;
  const detail = document.getElementById('detail');
  if (!dashboard || !detail) return;

  /** Lines of history asked for, and lines kept on the page (the oldest go first). */
  const HISTORY_LINES = 200;
  const MAX_SHOWN = 1000;
  /** The search waits this long after the last keystroke. */
  const SEARCH_DELAY_MS = 300;
  const RETRY_MS = 2000;

  const element = (tag, attributes = {}, text) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  };

  // The panel, built here so the page's markup stays the dashboard's own.
  const panel = element('section', { id: 'log-viewer', class: 'log-viewer', 'aria-label': 'server logs' });
  const head = element('div', { class: 'section-head' });
  head.append(element('h3', {}, 'Logs'), element('span', { id: 'logs-status', class: 'logs-status muted', role: 'status' }));
  const controls = element('div', { class: 'log-controls' });
  const search = element('input', { id: 'logs-grep', type: 'search', placeholder: 'search (plain text, any case)', 'aria-label': 'search the logs', spellcheck: 'false', autocomplete: 'off' });
  const stream = element('select', { id: 'logs-stream', 'aria-label': 'stream' });
  stream.append(element('option', { value: '' }, 'all streams'), element('option', { value: 'stderr' }, 'stderr'), element('option', { value: 'stdout' }, 'stdout'));
  controls.append(search, stream);
  const list = element('ol', { id: 'logs', class: 'log-lines' });
  const empty = element('p', { id: 'logs-empty', class: 'muted logs-empty' }, 'No lines.');
  panel.append(head, controls, list, empty);
  detail.append(panel);

  const status = panel.querySelector('#logs-status');
  let current = null; // { id, controller }
  let searchTimer = null;

  const setStatus = (text) => {
    status.textContent = text;
  };

  function show(line) {
    const item = element('li', { 'data-stream': line.stream });
    const time = new Date(line.at);
    item.append(
      element('time', { datetime: time.toISOString(), title: time.toISOString() }, time.toLocaleTimeString()),
      element('span', { class: 'log-stream' }, line.stream),
      element('span', { class: 'log-text' }, line.text),
    );
    // Follow the tail only when the reader is already at the bottom.
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    list.append(item);
    while (list.childElementCount > MAX_SHOWN) list.firstElementChild.remove();
    empty.hidden = true;
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function stop() {
    current?.controller.abort();
    current = null;
  }

  /** Stops the tail and drops its lines. */
  function clear() {
    stop();
    list.replaceChildren();
    empty.hidden = false;
  }

  function start(id) {
    clear();
    if (!id || dashboard.isLeaving(id)) return;
    const controller = new AbortController();
    current = { id, controller };
    const query = new URLSearchParams({ follow: '1', lines: String(HISTORY_LINES) });
    if (search.value !== '') query.set('grep', search.value);
    if (stream.value !== '') query.set('stream', stream.value);
    void (async () => {
      let first = true;
      while (!controller.signal.aborted) {
        try {
          setStatus(first ? 'connecting…' : 'reconnecting…');
          const response = await dashboard.api(`${dashboard.actorPath(id)}/logs?${query}`, { signal: controller.signal });
          if (!response.ok || !response.body) {
            const body = await response.json().catch(() => null);
            setStatus(body?.error?.message ?? `logs answered ${response.status}`);
            if (response.status === 400 || response.status === 403 || response.status === 404) return;
            throw new Error(`logs answered ${response.status}`);
          }
          // A reconnect replays the history: start from a clean list.
          list.replaceChildren();
          empty.hidden = false;
          setStatus('live');
          first = false;
          await read(response.body, controller.signal);
        } catch (error) {
          if (dashboard.isUnauthorized(error)) return void dashboard.unauthorized(error);
          first = false;
        }
        if (controller.signal.aborted) return;
        setStatus('reconnecting…');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    })();
  }

  async function read(body, signal) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    const cancel = () => void reader.cancel().catch(() => undefined);
    signal.addEventListener('abort', cancel, { once: true });
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || signal.aborted) return;
        buffer = dashboard.sseBlocks(buffer + value, dispatch);
      }
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }

  function dispatch(block) {
    const { type, data } = dashboard.parseSse(block);
    if (type !== 'line' || data === undefined) return;
    try {
      const line = JSON.parse(data);
      if (typeof line?.text === 'string') show(line);
    } catch {
      // Not a line: ignored.
    }
  }

  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => start(dashboard.selected()), SEARCH_DELAY_MS);
  });
  stream.addEventListener('change', () => start(dashboard.selected()));
  dashboard.onSelect((id) => start(id));
  // A server this page is removing is not tailed again once its stream ends: it would answer 404.
  dashboard.onLeave((id, leaving) => {
    if (leaving && current?.id === id) stop();
    else if (!leaving && dashboard.selected() === id) start(id);
  });
  // A new token (or a reload of the fleet) restarts the tail of the server still selected.
  dashboard.onStart(() => start(dashboard.selected()));
  // Asked for a token: no stream stays open with the old one, and no line stays for whoever unlocks next.
  dashboard.onLogin(() => {
    clear();
    setStatus('');
  });
})();
