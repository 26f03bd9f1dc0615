import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { htmlPage } from '../page.js';

/** Our page, its script and stylesheet (copied next to the emitted JavaScript by the build). */
const OWN = fileURLToPath(new URL('../docs/', import.meta.url));
/** Swagger UI as its npm package ships it: served from here, so /docs needs no network. */
const require = createRequire(import.meta.url);
const SWAGGER = dirname(require.resolve('swagger-ui-dist/package.json'));

interface Asset {
  body: Uint8Array;
  type: string;
  etag: string;
}

/** Every file `/docs/assets/*` serves, by name; nothing else is reachable. */
const ASSETS: Record<string, { path: () => string; type: string }> = {
  'swagger-ui-bundle.js': { path: () => join(SWAGGER, 'swagger-ui-bundle.js'), type: 'text/javascript; charset=utf-8' },
  'swagger-ui.css': { path: () => join(SWAGGER, 'swagger-ui.css'), type: 'text/css; charset=utf-8' },
  'docs.js': { path: () => join(OWN, 'docs.js'), type: 'text/javascript; charset=utf-8' },
  'docs.css': { path: () => join(OWN, 'docs.css'), type: 'text/css; charset=utf-8' },
};

/** Read on first use and kept: the bundle is large and never changes while the process runs. */
const loaded = new Map<string, Asset>();

function asset(name: string): Asset | undefined {
  const known = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!known) return undefined;
  let found = loaded.get(name);
  if (!found) {
    const body = readFileSync(known.path());
    found = { body, type: known.type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    loaded.set(name, found);
  }
  return found;
}

/** The page's policy: its own scripts and styles only (Swagger UI sets style attributes), requests to this origin only. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * `GET /docs`: Swagger UI over `/openapi.json`, entirely from this app (the `swagger-ui-dist`
 * package's bundle under `/docs/assets/`; no CDN, so it works offline). The page and its assets
 * hold no data and load without a token; the page asks for one when `/openapi.json` answers 401,
 * keeps it in the tab's session storage (the dashboard's key, so either page unlocks the other)
 * and sends it with every request it makes, "Try it out" included.
 */
export function docsRoutes() {
  const app = new Hono();
  const page = readFileSync(join(OWN, 'docs.html'), 'utf8');

  app.get('/docs', (c) => htmlPage(c, page, CSP));

  app.get('/docs/assets/:file', (c) => {
    const file = c.req.param('file');
    const found = asset(file);
    if (!found) return c.json({ error: { code: 'not_found', message: `no asset ${JSON.stringify(file)}` } }, 404);
    c.header('ETag', found.etag);
    c.header('Cache-Control', 'no-cache');
    c.header('X-Content-Type-Options', 'nosniff');
    if (c.req.header('if-none-match') === found.etag) return c.body(null, 304);
    c.header('Content-Type', found.type);
    return c.body(found.body as Uint8Array<ArrayBuffer>);
  });

  return app;
}

/** The paths {@link docsRoutes} serves: open without a token, like the dashboard page (GET and HEAD only). */
export function isDocsPath(path: string): boolean {
  return path === '/docs' || path.startsWith('/docs/assets/');
}
