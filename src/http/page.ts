import type { Context } from 'hono';

/**
 * Answers one of our own HTML pages (the dashboard, the API docs): under its Content Security
 * Policy, never cached (it may embed per-session values), never sniffed, and never sending our
 * address on as a Referer.
 */
export function htmlPage(c: Context, html: string, contentSecurityPolicy: string): Response {
  c.header('Content-Security-Policy', contentSecurityPolicy);
  c.header('Cache-Control', 'no-store');
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  return c.html(html);
}
