import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { htmlPage } from '../page.js';

const ASSETS = fileURLToPath(new URL('../dashboard/', import.meta.url));
/** Where `npm run statecharts` writes the generated charts. */
const DEFAULT_STATECHARTS_DIR = fileURLToPath(new URL('../../../docs/statecharts/', import.meta.url));

export interface DashboardOptions {
  /** Directory the `/statecharts/<name>.svg` files are read from (at request time); default docs/statecharts. */
  statechartsDir?: string;
}

/**
 * The page's scripts, in order: `dashboard.js` first (it defines `window.mcpDashboard`), then each
 * feature that builds on it. They are inlined as one script, so one CSP hash covers them.
 */
const SCRIPTS = ['dashboard.js', 'create-form.js', 'log-viewer.js'];

/** The page with its stylesheet and script inlined: one response, and the only one served without a token. */
function renderPage(): { html: string; scriptHash: string } {
  const read = (name: string): string => readFileSync(join(ASSETS, name), 'utf8');
  // The HTML parser turns CR LF into LF before the browser hashes the script; do it first.
  const script = SCRIPTS.map(read).join('\n').replace(/\r\n?/g, '\n');
  // Neither may close its element early; the assets are ours, so this only guards against accidents.
  const style = read('dashboard.css').replaceAll('</', '<\\/');
  const safeScript = script.replaceAll('</script', '<\\/script');
  const html = read('index.html')
    .replace('/*STYLE*/', () => style)
    .replace('/*SCRIPT*/', () => safeScript);
  const scriptHash = createHash('sha256').update(safeScript).digest('base64');
  return { html, scriptHash };
}

/**
 * `GET /`: a live dashboard of the fleet (plain HTML and JavaScript, read once when the app is
 * created; no build step). The page holds no data: it asks for a token when the API answers 401,
 * keeps it in sessionStorage and sends it as `Authorization: Bearer` on every request, `/events`
 * included (read with fetch, since EventSource cannot send headers).
 *
 * `GET /statecharts/<name>.svg`: the generated statechart drawings, read from disk per request,
 * so charts regenerated while the supervisor runs show up without a restart; 404 when absent.
 */
export function dashboardRoutes(options: DashboardOptions = {}) {
  const statechartsDir = options.statechartsDir ?? DEFAULT_STATECHARTS_DIR;
  const { html, scriptHash } = renderPage();
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${scriptHash}'`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  const app = new Hono();

  app.get('/', (c) => htmlPage(c, html, csp));

  app.get('/statecharts/:file', async (c) => {
    const file = c.req.param('file');
    const match = /^([a-z0-9][a-z0-9-]*)\.svg$/.exec(file);
    if (!match) return c.json({ error: { code: 'not_found', message: `no statechart ${file}` } }, 404);
    let svg: string;
    try {
      svg = await readFile(join(statechartsDir, `${match[1]}.svg`), 'utf8');
    } catch {
      return c.json({ error: { code: 'not_found', message: `no statechart ${file} (generate it with npm run statecharts)` } }, 404);
    }
    c.header('Content-Type', 'image/svg+xml; charset=utf-8');
    c.header('Cache-Control', 'no-cache');
    c.header('X-Content-Type-Options', 'nosniff');
    // Opened directly, an SVG is a document: it may not run anything.
    c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    return c.body(svg);
  });

  return app;
}
