import { describe, expect, it } from 'vitest';
import { maskUrls, recordingEnv, redact, redactedTarget, secretsOf, targetSecrets, urlSecrets, withProvenance, writtenOf, writtenTargetOf } from '../../../src/core/secrets.js';
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

describe('a target without its secrets', () => {
  it('keeps the shape, shows what was written, masks env and header values, URL userinfo and query values', () => {
    const stdio: ServerTarget = { type: 'stdio', command: '/opt/expanded-cmd', args: ['--key=expanded-key', 'plain'], env: { TOKEN: 'env-secret' }, cwd: '/home/u', restart: 'never' };
    expect(redactedTarget(stdio)).toEqual({ type: 'stdio', command: '/opt/expanded-cmd', args: ['--key=expanded-key', 'plain'], env: { TOKEN: '***' }, cwd: '/home/u', restart: 'never' });
    withProvenance(stdio, { secrets: ['expanded-key', '/opt/expanded-cmd'], written: { command: '${CMD}', args: ['--key=${KEY}', 'plain'] } });
    expect(redactedTarget(stdio)).toEqual({ type: 'stdio', command: '${CMD}', args: ['--key=${KEY}', 'plain'], env: { TOKEN: '***' }, cwd: '/home/u', restart: 'never' });
    const http: ServerTarget = { type: 'sse', url: 'http://u:p@h/sse?t=q', headers: { Authorization: 'Bearer x' }, launch: { command: 'srv', env: { A: 'b' } } };
    expect(redactedTarget(http)).toEqual({ type: 'sse', url: 'http://***:***@h/sse?t=***', headers: { Authorization: '***' }, launch: { command: 'srv', args: [], env: { A: '***' } } });
    expect(redactedTarget({ type: 'memory', createServer: () => ({ connect: async () => undefined, close: async () => undefined }) })).toEqual({ type: 'memory' });
  });

  it('without the written form, every known secret in command, args and cwd is ***', () => {
    const target: ServerTarget = { type: 'stdio', command: 'node', args: ['--token=from-var-123', 'x'], env: { A: 'env-val' } };
    withProvenance(target, { secrets: ['from-var-123'] });
    expect(redactedTarget(target).type === 'stdio' && redactedTarget(target)).toMatchObject({ args: ['--token=***', 'x'] });
  });

  it('a target the loader made serializes without its secrets, and is otherwise unchanged', () => {
    const target: ServerTarget = { type: 'stdio', command: 'node', args: ['--token=from-var-456'], env: { A: 'env-val' } };
    withProvenance(target, { secrets: ['from-var-456'], written: { command: 'node', args: ['--token=${T}'] } });
    expect(JSON.parse(JSON.stringify({ context: { target } }))).toEqual({ context: { target: { type: 'stdio', command: 'node', args: ['--token=${T}'], env: { A: '***' } } } });
    expect(Object.keys(target)).toEqual(['type', 'command', 'args', 'env']);
    expect(target).toEqual({ type: 'stdio', command: 'node', args: ['--token=from-var-456'], env: { A: 'env-val' } });
  });
});

describe('what the loader records', () => {
  it('the written form of an entry: command, args, cwd and url when they have the right type', () => {
    expect(writtenTargetOf({ command: '${X}', args: ['a', '${Y}'], cwd: '~', url: 'http://${H}/', env: { A: '1' } })).toEqual({ command: '${X}', args: ['a', '${Y}'], cwd: '~', url: 'http://${H}/' });
    expect(writtenTargetOf({ command: 1, args: ['a', 2] })).toEqual({});
    expect(writtenTargetOf('nope')).toBeUndefined();
  });

  it('the values handed out by an env, as expansion reads them', () => {
    const read: string[] = [];
    const env = recordingEnv({ A: 'one', B: 'two' } as Record<string, string | undefined>, read);
    expect(Object.hasOwn(env, 'A')).toBe(true);
    expect([env.A, env.C]).toEqual(['one', undefined]);
    expect(read).toEqual(['one']);
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
