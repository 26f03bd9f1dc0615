// /docs: Swagger UI over /openapi.json, served from this app (swagger-ui-dist), no CDN.
// With a token configured, /openapi.json and every "Try it out" request need
// `Authorization: Bearer <token>`: the token is read from (and kept in) this tab's session
// storage under the dashboard's key, so a tab that unlocked the dashboard is unlocked here too.
/* global SwaggerUIBundle */
(() => {
  'use strict';
  const TOKEN_KEY = 'mcp-supervisor.token';
  const $ = (id) => document.getElementById(id);
  const token = () => sessionStorage.getItem(TOKEN_KEY);
  /** How many tokens were given on this page: a load started before the latest one is stale. */
  let tokensGiven = 0;

  function withToken(headers) {
    const value = token();
    const has = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
    if (value && !has) headers.Authorization = `Bearer ${value}`;
    return headers;
  }

  async function load() {
    $('load-error').hidden = true;
    const sentUnder = tokensGiven;
    // A token given since this load began has its own load: this one's answer, whatever it is, is stale.
    const stale = () => sentUnder !== tokensGiven;
    let response;
    try {
      response = await fetch('/openapi.json', { headers: withToken({}), cache: 'no-store' });
    } catch (error) {
      if (stale()) return;
      return fail(`Could not reach the API: ${error.message}`);
    }
    if (stale()) return void response.body?.cancel();
    if (response.status === 401) {
      const had = token() !== null;
      sessionStorage.removeItem(TOKEN_KEY);
      $('token-message').textContent = had
        ? 'That token was not accepted.'
        : "This supervisor requires an API token. It is kept in this tab's session storage only (shared with the dashboard) and sent as Authorization: Bearer.";
      $('token-form').hidden = false;
      $('token-input').focus();
      return;
    }
    if (!response.ok) return fail(`/openapi.json answered ${response.status}`);
    const spec = await response.json();
    if (stale()) return;
    show(spec);
  }

  function fail(message) {
    $('load-error').textContent = message;
    $('load-error').hidden = false;
  }

  function show(spec) {
    $('token-form').hidden = true;
    const ui = SwaggerUIBundle({
      spec,
      dom_id: '#swagger-ui',
      validatorUrl: null,
      deepLinking: false,
      tryItOutEnabled: false,
      requestInterceptor(request) {
        request.headers = withToken(request.headers || {});
        return request;
      },
    });
    // Show the stored token as the bearer authorization (the Authorize button can change it).
    const value = token();
    if (value) ui.preauthorizeApiKey('bearer', value);
  }

  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('token-input').value.trim();
    if (!value) return;
    tokensGiven += 1;
    sessionStorage.setItem(TOKEN_KEY, value);
    $('token-input').value = '';
    void load();
  });

  void load();
})();
