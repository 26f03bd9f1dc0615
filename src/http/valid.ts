import type { Hook, z } from '@hono/zod-openapi';
import type { Context, Env } from 'hono';
import { ApiError } from './errors.js';

/** The parts of a request a {@link PartValidator} reads, as zod-openapi's validators read them. */
type Part = 'param' | 'query';

/** Valid inputs remembered per schema; forgotten all at once when full. */
const MAX_REMEMBERED = 1_000;
/** The longest input remembered (characters of its JSON): ids are at most 128. */
const MAX_REMEMBERED_KEY = 512;

function valueOf(c: Context, part: Part): Record<string, string | string[]> {
  if (part === 'param') return c.req.param() as Record<string, string>;
  // No query string: what the validator would read is an empty object.
  if (!c.req.url.includes('?')) return {};
  return Object.fromEntries(Object.entries(c.req.queries()).map(([key, values]) => (values.length === 1 ? [key, values[0]!] : [key, values])));
}

/**
 * Parts of a request (path parameters, query) validated in the handler, as zod-openapi's
 * validator middleware would: the same values, the same schema, the same hook, so the same 400.
 * For the hot path (a tool call), where that middleware's awaits and asynchronous parse cost more
 * than the check; the route stays declared in the OpenAPI document as before. A schema's verdict
 * on the same strings is always the same, so valid inputs are remembered (a tool call's path
 * names the same few servers and tools again and again).
 */
export class PartValidator {
  private readonly valid = new Map<z.ZodType, Map<string, unknown>>();

  /** @param hook - the app's validation hook: it throws the 400 for a failure. */
  constructor(private readonly hook: Hook<unknown, Env, string, unknown>) {}

  /** The part, validated by `schema`; throws what the hook throws for an invalid one. */
  part<T extends z.ZodType>(c: Context, part: Part, schema: T): z.output<T> {
    const value = valueOf(c, part);
    const key = JSON.stringify(value);
    let known = this.valid.get(schema);
    const remembered = known?.get(key);
    if (remembered !== undefined) return remembered as z.output<T>;
    const result = schema.safeParse(value);
    const input: Parameters<Hook<unknown, Env, string, unknown>>[0] = { ...result, target: part };
    void this.hook(input, c);
    // A hook that does not throw still lets no invalid value through.
    if (!result.success) throw new ApiError(400, 'invalid_request', result.error.message);
    // Long inputs (a path may be kilobytes) are checked each time rather than kept.
    if (key.length > MAX_REMEMBERED_KEY) return result.data;
    if (!known) this.valid.set(schema, (known = new Map()));
    if (known.size >= MAX_REMEMBERED) known.clear();
    // Shared by later requests: frozen, so that no handler can change what the next one gets.
    known.set(key, Object.freeze(result.data));
    return result.data;
  }
}
