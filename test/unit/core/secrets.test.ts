import { describe, expect, it } from 'vitest';
import { maskUrls, redact, secretsOf, targetSecrets, urlSecrets, withProvenance, writtenOf } from '../../../src/core/secrets.js';
import type { ServerTarget } from '../../../src/core/target.js';
import { roundMs, roundRatio, roundTo } from '../../../src/core/round.js';

describe('redact', () => {
  it('replaces every occurrence of every secret with ***', () => {
    expect(redact('token abc123 and again abc123, user bob-the-user', ['abc123', 'bob-the-user'])).toBe('token *** and again ***, user ***');
  });

  it('replaces the longest secret first, so one containing another goes whole', () => {
    expect(redact('Bearer s3cr3t-token', ['s3cr3t', 'Bearer s3cr3t-token'])).toBe('***');
    expect(redact('Bearer s3cr3t-token', ['Bearer s3cr3t-token', 's3cr3t'])).toBe('***');
  });

  it('leaves secrets shorter than 3 characters alone', () => {
    expect(redact('on 1 of 12 tries', ['1', 'on', '12'])).toBe('on 1 of 12 tries');
  });

  it('finds a secret percent-encoded and JSON-escaped', () => {
    expect(redact('GET /x?k=p%40ss%2Fword', ['p@ss/word'])).not.toContain('p%40ss');
    expect(redact('{"v":"line\\nbreak-secret"}', ['line\nbreak-secret'])).toBe('{"v":"***"}');
  });

  it('finds a secret whose control characters a message prints escaped', () => {
    expect(redact("Received 'planted\\x00nul-part'", ['planted\u0000nul-part'])).toBe("Received '***'");
    expect(redact("Received 'esc\\x1Bape'", ['esc\u001bape'])).toBe("Received '***'");
    expect(redact('"Bearer tok\\nen"', ['Bearer tok\nen'])).toBe('"***"');
    // The words around a control character are not secrets by themselves.
    expect(redact('invalid value for header "A"', ['Bearer planted\nheader'])).toBe('invalid value for header "A"');
  });

  it('masks userinfo and query values of URLs nobody listed as secret', () => {
    expect(redact('fetch http://u:pw@host:1/mcp?token=abc&x=1 failed')).toBe('fetch http://***:***@host:1/mcp?token=***&x=*** failed');
    expect(redact('see https://user@example.com/path')).toBe('see https://***@example.com/path');
  });

  it('is idempotent and leaves text without secrets or URLs unchanged', () => {
    const once = redact('http://u:p@h/x?a=b secret-one', ['secret-one']);
    expect(redact(once, ['secret-one'])).toBe(once);
    expect(redact('connect ECONNREFUSED 127.0.0.1:9', ['unrelated'])).toBe('connect ECONNREFUSED 127.0.0.1:9');
  });
});

describe('maskUrls', () => {
  it('keeps scheme, host, port and path, and stops at quotes and whitespace', () => {
    expect(maskUrls('invalid URL "http://a:b@h:8/p?q=1"; retry')).toBe('invalid URL "http://***:***@h:8/p?q=***"; retry');
    expect(maskUrls('http://127.0.0.1:3001/mcp')).toBe('http://127.0.0.1:3001/mcp');
  });

  it('masks an empty query value as nothing and an @ in the path as path', () => {
    expect(maskUrls('http://h/a@b?x=')).toBe('http://h/a@b?x=');
  });
});

describe('secrets of a target', () => {
  it('are its URL userinfo and query values (raw and decoded), header values and env values', () => {
    expect(urlSecrets('http://us%40er:p%2Fw@h/mcp?token=q%20v&flag')).toEqual(expect.arrayContaining(['us%40er', 'us@er', 'p%2Fw', 'p/w', 'q%20v', 'q v']));
    expect(urlSecrets('not a url')).toEqual([]);
    const http: ServerTarget = { type: 'streamable-http', url: 'http://h/mcp?k=v1', headers: { Authorization: 'Bearer hv' }, launch: { command: 'x', env: { E: 'ev' } } };
    expect(targetSecrets(http)).toEqual(expect.arrayContaining(['v1', 'Bearer hv', 'ev']));
    expect(targetSecrets({ type: 'stdio', command: 'x', env: { A: 'env-value' } })).toEqual(['env-value']);
  });

  it('include what the loader recorded (${VAR} expansions), and the written form is kept beside them', () => {
    const target: ServerTarget = { type: 'stdio', command: 'node', args: ['--token', 'expanded-value'] };
    expect(secretsOf(target)).toEqual([]);
    expect(writtenOf(target)).toBeUndefined();
    withProvenance(target, { secrets: ['expanded-value'], written: { command: 'node', args: ['--token', '${TOKEN}'] } });
    expect(secretsOf(target)).toEqual(['expanded-value']);
    expect(writtenOf(target)?.args).toEqual(['--token', '${TOKEN}']);
    // A copy is another object: only what the target shows by itself is known.
    expect(secretsOf({ ...target })).toEqual([]);
  });
});

describe('rounding', () => {
  it('rounds milliseconds to the microsecond and passes null and undefined through', () => {
    expect(roundMs(12.345678901234)).toBe(12.346);
    expect(roundMs(0.0004)).toBe(0);
    expect(Object.is(roundMs(-0.0001), 0)).toBe(true);
    expect(roundMs(null)).toBeNull();
    expect(roundMs(undefined)).toBeUndefined();
    expect(roundRatio(2 / 3)).toBe(0.6667);
    expect(roundTo(Number.POSITIVE_INFINITY, 2)).toBe(Number.POSITIVE_INFINITY);
    expect(JSON.stringify({ ms: roundMs(1.23456789) })).toBe('{"ms":1.235}');
  });
});
