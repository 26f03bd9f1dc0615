// The dashboard's "new server" form and the selected server's "remove" button (docs/dashboard.md).
// Inlined into GET / after dashboard.js, in a closure of its own; it reaches the page only through
// window.mcpDashboard.
//
// The form is validated by the server, not here: as the user types, the entry is sent to
// POST /actors?dryRun=1, which runs exactly the checks a registration runs and starts or writes
// nothing; its issues are shown next to their fields. So the form can never accept what the API
// refuses, nor refuse what it accepts. The preview (the `mcpServers` entry and a `curl` command)
// is drawn from the form as typed, with every env and header value as a `${NAME}` placeholder:
// those values live only in their password inputs and in the request bodies, never in the page.
'use strict';
(() => {
  const dashboard = window.mcpDashboard;
  const $ = (id) => document.getElementById(id);

  /** The keys of a server's `health` block: src/config/schema.ts (a unit test keeps the two equal). */
  const HEALTH_KEYS = ['connectTimeoutMs', 'pingTimeoutMs', 'healthyIntervalMs', 'stableIntervalMs', 'degradedIntervalMs', 'probeJitter', 'degradedLatencyMs', 'zombieAfter', 'recoverAfter', 'initialBackoffMs', 'multiplier', 'maxBackoffMs', 'resetAfterMs', 'maxAttempts'];
  /** The dry run waits this long after the last keystroke. */
  const CHECK_DELAY_MS = 300;
  /** The variable the `curl` preview takes the token from. */
  const TOKEN_VARIABLE = 'MCP_SUPERVISOR_TOKEN';
  /** How long "created" and "copied" notes stay. */
  const NOTE_MS = 4000;

  const dialog = $('create-dialog');
  const form = $('create-form');

  /** Fields the user has been in (or all of them, after a submit): only their issues are shown. */
  const touched = new Set();
  let submitted = false;
  /** The issues of the last answer (dry run or registration), each `{ field, label, message }`. */
  let issues = [];
  /** A message that belongs to no field (a refused request, a lost connection). */
  let generalError = '';
  const check = { timer: null, controller: null, seq: 0 };
  let submitting = false;

  // ---------------------------------------------------------------------------------------------
  // the form's fields

  for (const key of HEALTH_KEYS) {
    const label = document.createElement('label');
    label.className = 'field';
    const name = document.createElement('span');
    name.textContent = key;
    const input = document.createElement('input');
    input.id = `create-health-${key}`;
    input.dataset.field = `health.${key}`;
    input.inputMode = key === 'multiplier' || key === 'probeJitter' ? 'decimal' : 'numeric';
    input.placeholder = 'default';
    input.autocomplete = 'off';
    input.spellcheck = false;
    const error = document.createElement('small');
    error.className = 'field-error';
    error.dataset.errorFor = `health.${key}`;
    error.id = `create-error-health-${key}`;
    input.setAttribute('aria-describedby', error.id);
    label.append(name, input, error);
    $('create-health-fields').append(label);
  }

  /** Adds an env or header row: a name, and a value in a password input (never shown back). */
  function addPair(kind) {
    const row = $('create-pair-template').content.firstElementChild.cloneNode(true);
    const [name, value] = row.querySelectorAll('input');
    name.dataset.field = kind;
    value.dataset.field = kind;
    name.placeholder = kind === 'env' ? 'NAME' : 'Header-Name';
    name.setAttribute('aria-label', kind === 'env' ? 'variable name' : 'header name');
    value.setAttribute('aria-label', kind === 'env' ? 'variable value (never shown)' : 'header value (never shown)');
    row.querySelector('.pair-remove').addEventListener('click', () => {
      row.remove();
      changed(kind);
    });
    $(`create-${kind}-rows`).append(row);
    name.focus();
  }
  $('create-env-add').addEventListener('click', () => addPair('env'));
  $('create-headers-add').addEventListener('click', () => addPair('headers'));

  const transport = () => $('create-type').value;

  function showTransport() {
    const stdio = transport() === 'stdio';
    for (const element of form.querySelectorAll('[data-transport]')) element.hidden = (element.dataset.transport === 'stdio') !== stdio;
  }

  /** The other servers a new one may depend on, from the page's fleet; the choices already made are kept. */
  function fillDependsOn() {
    const select = $('create-depends-on');
    const chosen = new Set([...select.selectedOptions].map((option) => option.value));
    const ids = dashboard.ids();
    select.replaceChildren(
      ...ids.map((id) => {
        const option = document.createElement('option');
        option.value = id;
        option.textContent = id;
        option.selected = chosen.has(id);
        return option;
      }),
    );
    select.size = Math.max(2, Math.min(6, ids.length));
    select.disabled = ids.length === 0;
    $('create-depends-on-none').hidden = ids.length > 0;
  }

  // ---------------------------------------------------------------------------------------------
  // the entry the form describes

  /** A number when the text is one; else the text as typed, so the server names the problem. */
  function numberOr(text) {
    const trimmed = text.trim();
    if (trimmed === '') return undefined;
    return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(trimmed) ? Number(trimmed) : trimmed;
  }

  /** `[name, value]` of the env or header rows that have a name. */
  function pairs(kind) {
    return [...$(`create-${kind}-rows`).querySelectorAll('.pair')]
      .map((row) => [...row.querySelectorAll('input')].map((input) => input.value))
      .map(([name, value]) => [name.trim(), value])
      .filter(([name]) => name !== '');
  }

  /**
   * `{ id, entry }` as the form says. Each env and header value is `secret(kind, name, value)`:
   * the value itself for the API, a placeholder for the preview.
   */
  function entryOf(secret) {
    const entry = {};
    const type = transport();
    const kind = type === 'stdio' ? 'env' : 'headers';
    if (type === 'stdio') {
      // Sent even when empty, so that the issue is "command must not be empty", at the command.
      entry.command = $('create-command').value.trim();
      const args = $('create-args').value.split('\n').map((line) => line.replace(/\r$/, '')).filter((line) => line.trim() !== '');
      if (args.length > 0) entry.args = args;
    } else {
      entry.type = type;
      entry.url = $('create-url').value.trim();
    }
    const values = pairs(kind);
    if (values.length > 0) entry[kind] = Object.fromEntries(values.map(([name, value]) => [name, secret(kind, name, value)]));
    const priority = numberOr($('create-priority').value);
    if (priority !== undefined) entry.priority = priority;
    const dependsOn = [...$('create-depends-on').selectedOptions].map((option) => option.value);
    if (dependsOn.length > 0) entry.dependsOn = dependsOn;
    const health = {};
    for (const key of HEALTH_KEYS) {
      const value = numberOr($(`create-health-${key}`).value);
      if (value !== undefined) health[key] = value;
    }
    if (Object.keys(health).length > 0) entry.health = health;
    return { id: $('create-id').value.trim(), entry };
  }

  /** The request body: the entry with the values typed. */
  const requestBody = () => {
    const { id, entry } = entryOf((kind, name, value) => value);
    return JSON.stringify({ id, ...entry });
  };

  /** A shell variable name for a secret: the env name as it is, a header's upper-cased. */
  function variableName(kind, name, taken) {
    let base = (kind === 'env' ? name : name.toUpperCase()).replace(/[^A-Za-z0-9_]/g, '_');
    if (!/^[A-Za-z_]/.test(base)) base = `_${base}`;
    let candidate = base;
    for (let n = 2; taken.has(candidate); n++) candidate = `${base}_${n}`;
    taken.add(candidate);
    return candidate;
  }

  // ---------------------------------------------------------------------------------------------
  // the preview

  function renderPreview() {
    // Each secret becomes a marker string no typed text can produce (a fresh nonce and control
    // characters, which JSON escapes), replaced by `${NAME}` after JSON.stringify.
    const nonce = Math.random().toString(36).slice(2);
    const names = [];
    const taken = new Set([TOKEN_VARIABLE]);
    const { id, entry } = entryOf((kind, name) => {
      names.push(variableName(kind, name, taken));
      return `\u0001${nonce}:${names.length - 1}\u0001`;
    });
    const marker = new RegExp(`"\\\\u0001${nonce}:(\\d+)\\\\u0001"`, 'g');
    const json = JSON.stringify({ mcpServers: { [id]: entry } }, null, 2).replace(marker, (_, index) => `"\${${names[index]}}"`);
    // The body in single quotes (nothing expands), each secret spliced in from the shell: '"${NAME}"'.
    const body = shellQuote(JSON.stringify({ id, ...entry })).replace(marker, (_, index) => `"'"\${${names[index]}}"'"`);
    const curl = [
      `curl -sS -X POST ${shellQuote(`${location.origin}/actors`)} \\`,
      `  -H "Authorization: Bearer $${TOKEN_VARIABLE}" \\`,
      `  -H 'Content-Type: application/json' \\`,
      `  -d ${body}`,
    ].join('\n');
    $('create-preview-json').textContent = json;
    $('create-preview-curl').textContent = curl;
    const secretNote = $('create-preview-secrets');
    secretNote.hidden = names.length === 0;
    secretNote.textContent = names.length === 0 ? '' : `Values typed are never shown: ${names.map((name) => `\${${name}}`).join(', ')} ${names.length === 1 ? 'stands' : 'stand'} in. In a config file the supervisor reads ${names.length === 1 ? 'it' : 'them'} from its environment; for curl, set ${names.length === 1 ? 'it' : 'them'} in your shell.`;
  }

  /** `text` in single quotes for a POSIX shell. */
  function shellQuote(text) {
    return `'${text.replace(/'/g, `'\\''`)}'`;
  }

  async function copy(source, button) {
    const text = $(source).textContent;
    let how;
    try {
      await navigator.clipboard.writeText(text);
      how = 'copied';
    } catch {
      // No clipboard (an insecure origin, a denied permission): select the text for Ctrl+C.
      const range = document.createRange();
      range.selectNodeContents($(source));
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      how = 'selected: press Ctrl+C';
    }
    button.dataset.copied = how === 'copied' ? 'clipboard' : 'selection';
    button.textContent = how;
    clearTimeout(button.noteTimer);
    button.noteTimer = setTimeout(() => {
      button.textContent = 'copy';
      delete button.dataset.copied;
    }, NOTE_MS);
  }
  $('copy-json').addEventListener('click', (event) => void copy('create-preview-json', event.currentTarget));
  $('copy-curl').addEventListener('click', (event) => void copy('create-preview-curl', event.currentTarget));

  // ---------------------------------------------------------------------------------------------
  // issues, from the server

  /** The form field an issue's path (`command`, `args.0`, `env.KEY`, `health.pingTimeoutMs`) belongs to. */
  function fieldOf(path) {
    const [head, next] = path.split('.');
    if (head === 'health' && HEALTH_KEYS.includes(next)) return `health.${next}`;
    if (['id', 'type', 'command', 'args', 'env', 'url', 'headers', 'priority', 'dependsOn', 'health'].includes(head)) return head;
    return 'general';
  }

  /** `{ ok, status, issues, message }` of an answer of POST /actors. */
  async function readAnswer(response) {
    const text = await response.text();
    let body;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (response.ok) return { ok: true, status: response.status, issues: [], message: '' };
    const error = body?.error ?? {};
    const message = error.message ?? `${response.status} ${response.statusText}`;
    let found = Array.isArray(error.issues) ? error.issues : [];
    // A taken id is not an entry problem, but it belongs to the id field all the same.
    if (error.code === 'conflict') found = [{ path: 'id', message }];
    return {
      ok: false,
      status: response.status,
      issues: found.map((issue) => ({ field: fieldOf(String(issue.path ?? '')), label: String(issue.path ?? ''), message: String(issue.message ?? '') })),
      message: found.length > 0 ? '' : message,
    };
  }

  function renderIssues() {
    const shown = new Map();
    for (const issue of issues) {
      if (!submitted && !touched.has(issue.field) && issue.field !== 'general') continue;
      // Within a field, say where when it is not the field itself (`args.1`, `env.KEY`).
      const text = issue.label && issue.label !== issue.field ? `${issue.label}: ${issue.message}` : issue.message;
      shown.set(issue.field, [...(shown.get(issue.field) ?? []), text]);
    }
    for (const element of form.querySelectorAll('.field-error')) {
      const lines = shown.get(element.dataset.errorFor) ?? [];
      element.textContent = lines.join('\n');
      element.hidden = lines.length === 0;
    }
    for (const input of form.querySelectorAll('[data-field]')) {
      if (shown.has(input.dataset.field)) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
    if ([...shown.keys()].some((field) => field.startsWith('health.'))) $('create-health').open = true;
    const general = [...(shown.get('general') ?? []), generalError].filter(Boolean);
    $('create-error').textContent = general.join('\n');
    $('create-error').hidden = general.length === 0;
    const count = issues.length;
    $('create-form').dataset.valid = String(count === 0 && !generalError);
  }

  /** Sends the form to the dry run after a pause; an answer older than the form is dropped. */
  function scheduleCheck() {
    clearTimeout(check.timer);
    check.timer = setTimeout(() => void runCheck(), CHECK_DELAY_MS);
  }

  function cancelCheck() {
    clearTimeout(check.timer);
    check.timer = null;
    check.controller?.abort();
    check.controller = null;
    check.seq++;
  }

  async function runCheck() {
    cancelCheck();
    const seq = check.seq;
    const controller = new AbortController();
    check.controller = controller;
    form.dataset.checking = 'true';
    try {
      const response = await dashboard.api('/actors?dryRun=1', { method: 'POST', headers: { 'content-type': 'application/json' }, body: requestBody(), signal: controller.signal });
      const answer = await readAnswer(response);
      if (seq !== check.seq) return;
      issues = answer.issues;
      generalError = answer.message;
      renderIssues();
    } catch (error) {
      if (seq !== check.seq || error.name === 'AbortError') return;
      if (dashboard.isUnauthorized(error)) return void dashboard.unauthorized(error);
      generalError = `could not check the entry: ${error.message}`;
      renderIssues();
    } finally {
      if (seq === check.seq) {
        delete form.dataset.checking;
        check.controller = null;
      }
    }
  }

  /** Something was typed: the preview follows at once, the server's verdict after a pause. */
  function changed(field) {
    if (field) touched.add(field);
    renderPreview();
    renderIssues();
    scheduleCheck();
  }

  form.addEventListener('input', (event) => {
    const field = event.target.dataset?.field;
    if (event.target === $('create-type')) showTransport();
    changed(field);
  });
  // Leaving a field shows what is wrong with it, even if nothing was typed into it.
  form.addEventListener('focusout', (event) => {
    const field = event.target.dataset?.field;
    if (!field || touched.has(field) || event.target.value === undefined) return;
    if (event.target.value === '' && !event.target.closest('.pair')) return; // only passing through
    touched.add(field);
    renderIssues();
  });

  // ---------------------------------------------------------------------------------------------
  // open, submit, close

  function open() {
    fillDependsOn();
    showTransport();
    renderPreview();
    renderIssues();
    if (!dialog.open) dialog.showModal();
    $('create-id').focus();
    // A draft kept from before is checked again (the fleet may have changed); an empty form is not.
    if (touched.size > 0) void runCheck();
  }

  /** Empties the form: the typed values (secrets first) leave the page. */
  function reset() {
    cancelCheck();
    form.reset();
    for (const kind of ['env', 'headers']) $(`create-${kind}-rows`).replaceChildren();
    touched.clear();
    submitted = false;
    issues = [];
    generalError = '';
    $('create-health').open = false;
    $('create-status').textContent = '';
    showTransport();
    renderPreview();
    renderIssues();
  }

  $('new-server').addEventListener('click', open);
  $('create-close').addEventListener('click', () => dialog.close());
  $('create-cancel').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    cancelCheck();
    if ($('login').hidden) $('new-server').focus();
  });
  // Escape closes this dialog only, not the statechart panel behind it (dashboard.js listens on
  // document, while the focus may be anywhere, e.g. on the body after the submit button was
  // disabled): stopped on its way down. The dialog's own close on Escape is not a listener's.
  window.addEventListener(
    'keydown',
    (event) => {
      if (event.key === 'Escape' && dialog.open) event.stopPropagation();
    },
    true,
  );

  form.addEventListener('submit', async (event) => {
    // `form-action 'none'`: the form is never submitted by the browser, only sent with fetch.
    event.preventDefault();
    if (submitting) return;
    submitting = true;
    submitted = true;
    cancelCheck();
    const { id } = entryOf(() => '');
    $('create-submit').disabled = true;
    $('create-status').textContent = 'creating…';
    try {
      const response = await dashboard.api('/actors', { method: 'POST', headers: { 'content-type': 'application/json' }, body: requestBody() });
      const answer = await readAnswer(response);
      if (!answer.ok) {
        issues = answer.issues;
        generalError = answer.message;
        $('create-status').textContent = '';
        renderIssues();
        // The focus goes to the first field to fix (the submit button was disabled under it).
        $('create-submit').disabled = false;
        const invalid = [...form.querySelectorAll('[aria-invalid="true"]')].find((input) => input.offsetParent !== null);
        (invalid ?? $('create-submit')).focus();
        return;
      }
      reset();
      dialog.close();
      announce(`created "${id}"`);
      showWhenListed(id);
    } catch (error) {
      if (dashboard.isUnauthorized(error)) return void dashboard.unauthorized(error);
      generalError = `could not create the server: ${error.message}`;
      $('create-status').textContent = '';
      renderIssues();
    } finally {
      submitting = false;
      $('create-submit').disabled = false;
    }
  });

  function announce(text) {
    const note = $('create-announce');
    note.textContent = text;
    note.hidden = false;
    clearTimeout(note.noteTimer);
    note.noteTimer = setTimeout(() => {
      note.textContent = '';
      note.hidden = true;
    }, NOTE_MS);
  }

  /** Opens the new server's panel once the page lists it (its `server.added` event is on its way). */
  function showWhenListed(id, tries = 50) {
    if (dashboard.ids().includes(id)) location.hash = `#${encodeURIComponent(id)}`;
    else if (tries > 0) setTimeout(() => showWhenListed(id, tries - 1), 100);
  }

  // ---------------------------------------------------------------------------------------------
  // remove (the selected server), after a confirmation in the panel

  function hideRemove() {
    $('remove-confirm').hidden = true;
    $('remove-error').hidden = true;
    $('remove-error').textContent = '';
    $('remove-confirm-yes').disabled = false;
  }

  $('remove-server').addEventListener('click', () => {
    const id = dashboard.selected();
    if (!id) return;
    hideRemove();
    $('remove-confirm-id').textContent = id;
    $('remove-confirm').dataset.id = id;
    $('remove-confirm').hidden = false;
    $('remove-confirm-no').focus();
  });
  $('remove-confirm-no').addEventListener('click', () => {
    hideRemove();
    $('remove-server').focus();
  });
  $('remove-confirm-yes').addEventListener('click', async () => {
    const id = $('remove-confirm').dataset.id;
    if (!id || id !== dashboard.selected()) return hideRemove();
    $('remove-confirm-yes').disabled = true;
    await dashboard.leave(id);
    // The wait was for a read of it still on its way: the user may have cancelled meanwhile.
    if ($('remove-confirm').hidden || id !== dashboard.selected()) {
      dashboard.stay(id);
      $('remove-confirm-yes').disabled = false;
      return;
    }
    try {
      const response = await dashboard.api(dashboard.actorPath(id), { method: 'DELETE' });
      const answer = await readAnswer(response);
      if (!answer.ok) throw new Error(answer.message || answer.issues.map((issue) => issue.message).join('; '));
      // Its `server.removed` event takes the card away and closes the panel.
      hideRemove();
      announce(`removed "${id}"`);
    } catch (error) {
      dashboard.stay(id);
      if (dashboard.isUnauthorized(error)) return void dashboard.unauthorized(error);
      $('remove-error').textContent = `could not remove it: ${error.message}`;
      $('remove-error').hidden = false;
      $('remove-confirm-yes').disabled = false;
    }
  });
  dashboard.onSelect(hideRemove);
  // The page asks for a token (a 401 to this form's requests or any other, or forget token): no
  // draft, typed secret or armed removal stays for whoever unlocks it next. This runs before the
  // login takes focus, so the dialog is closed by then. (The form cannot be opened meanwhile: its
  // button needs a role, and the page shows none while it asks for a token.)
  dashboard.onLogin(() => {
    reset();
    if (dialog.open) dialog.close();
    hideRemove();
  });
})();
