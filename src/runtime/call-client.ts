import { Client } from '@modelcontextprotocol/client';
import type { Request, RequestMethod, RequestOptions, ResultTypeMap, StandardSchemaV1 } from '@modelcontextprotocol/client';

/** What this client uses of the SDK's era codec (its `WireCodec`, not exported): result validation. */
interface ResultCodec {
  validateResult(method: string, raw: unknown): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: 'not-in-era' } | { readonly ok: false; readonly reason: 'invalid'; readonly message: string };
}

/**
 * The SDK's client, with the result validator of `tools/call` made without the SDK's per-request
 * probe. `client.request` without a result schema (what `client.callTool` does) first asks the
 * era codec to validate `undefined`, only to learn whether the method has a result in that era;
 * that builds and stringifies a zod error on every call (~15 µs of CPU). This client hands
 * `request` the validator that probe returns for `tools/call` (the same codec's `validateResult`,
 * the same issue messages) as an explicit result schema; the request funnel does all else as
 * before: the era gate, the codec's decoding, the validation, and `callTool`'s output-schema
 * checks. Every other request goes through untouched. It leans on the SDK's protected
 * `_wireCodec()` (tsc notices a rename) and on `tools/call` results being validated by era alone;
 * test/unit/runtime/call-client.test.ts compares it with the SDK's client in both eras, which is
 * what notices an SDK that changes that.
 */
export class CallClient extends Client {
  override request<M extends RequestMethod>(request: { method: M; params?: Record<string, unknown> }, options?: RequestOptions): Promise<ResultTypeMap[M]>;
  override request<T extends StandardSchemaV1>(request: Request, resultSchema: T, options?: RequestOptions): Promise<StandardSchemaV1.InferOutput<T>>;
  override request(request: Request, schemaOrOptions?: StandardSchemaV1 | RequestOptions, maybeOptions?: RequestOptions): Promise<unknown> {
    if (isStandardSchema(schemaOrOptions)) return super.request(request, schemaOrOptions, maybeOptions);
    if (request.method !== 'tools/call') return super.request(request as { method: RequestMethod }, schemaOrOptions);
    // A method with no bootstrap era: the funnel resolves the negotiated codec, this one.
    return super.request(request, codecResultSchema(this._wireCodec(), request.method), schemaOrOptions);
  }
}

/**
 * The validator the SDK's `codecResultValidator` makes for a method the era has a result for.
 * Made per call: three small objects, where a cached one would be state shared across clients.
 */
function codecResultSchema(codec: ResultCodec, method: string): StandardSchemaV1<unknown, unknown> {
  return {
    '~standard': {
      version: 1,
      vendor: 'mcp-wire-codec',
      validate(value: unknown) {
        const outcome = codec.validateResult(method, value);
        if (outcome.ok) return { value: outcome.value };
        return { issues: [{ message: outcome.reason === 'invalid' ? outcome.message : `not-in-era: ${method}` }] };
      },
    },
  };
}

/** The SDK's own test for a result schema (`isStandardSchema`), which decides the overload. */
function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  return '~standard' in value && typeof (value as { '~standard'?: { validate?: unknown } })['~standard']?.validate === 'function';
}
