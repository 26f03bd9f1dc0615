// Errors no retry can fix go to `failed` after exactly one attempt, with a clear (and redacted)
// reason: each is a real attempt (a real spawn, a real Streamable HTTP / SSE client).
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServerTarget } from '../../src/core/target.js';
import { disposeAll, waitForState, watchConnection } from '../support/connections.js';
import { fixtureServerPath, startHttpFixture } from '../../fixtures/http-fixture.js';
import type { HttpFixture } from '../../fixtures/http-fixture.js';

let dir: string;
let fixture: HttpFixture;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-supervisor-permanent-'));
  fixture = await startHttpFixture();
});

afterEach(async () => {
  await disposeAll();
});

afterAll(async () => {
  await fixture?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Connects once and expects `failed` right after the first `connecting`, returning the last error. */
async function failsAtOnce(id: string, target: ServerTarget): Promise<{ kind: string; message: string }> {
  // Backoff far shorter than the wait: a retry, had there been one, would show in the states.
  const watched = watchConnection({ id, target, settings: { initialBackoffMs: 1, maxBackoffMs: 5 } });
  await waitForState(watched.connection, 'failed', 5_000);
  expect(watched.states).toEqual(['connecting', 'failed']);
  expect(watched.changes.at(-1)?.reason).toBe(watched.connection.snapshot.context.lastError?.message);
  const lastError = watched.connection.snapshot.context.lastError;
  expect(lastError?.kind).toBe('permanent');
  return lastError as { kind: string; message: string };
}

describe('spawn errors that no retry can fix: failed after one attempt', () => {
  it('an argument with a NUL byte (ERR_INVALID_ARG_VALUE): the message names the argument, never its value', async () => {
    const error = await failsAtOnce('nul-arg', { type: 'stdio', command: process.execPath, args: [fixtureServerPath, 'planted-nul\u0000secret'] });
    expect(error.message).toBe("invalid value, retrying cannot help: The argument 'args[1]' must be a string without null bytes (ERR_INVALID_ARG_VALUE)");
    expect(error.message).not.toMatch(/planted|secret/);
  });

  it('an env value with a NUL byte (ERR_INVALID_ARG_VALUE), redacted', async () => {
    const error = await failsAtOnce('nul-env', { type: 'stdio', command: process.execPath, args: [fixtureServerPath, 'stdio'], env: { TOKEN: 'planted-env\u0000value' } });
    expect(error.message).toMatch(/options\.env\['TOKEN'\].*without null bytes/);
    expect(error.message).not.toMatch(/planted|value'/);
  });

  it('a file that is not executable (EACCES)', async () => {
    const script = join(dir, 'not-executable.sh');
    await writeFile(script, '#!/bin/sh\nexit 0\n');
    await chmod(script, 0o644);
    const error = await failsAtOnce('eacces', { type: 'stdio', command: script });
    expect(error.message).toBe(`cannot start "${script}": permission denied (not executable, or a directory on the way is not searchable) (EACCES)`);
  });

  it('a 3 MB argument (E2BIG)', async () => {
    const error = await failsAtOnce('e2big', { type: 'stdio', command: process.execPath, args: [fixtureServerPath, 'x'.repeat(3 * 1024 * 1024)] });
    expect(error.message).toBe(`cannot start "${process.execPath}": the arguments and environment are too long for the system (E2BIG)`);
  });

  it('a path through a file (ENOTDIR)', async () => {
    const file = join(dir, 'plain-file');
    await writeFile(file, '');
    const error = await failsAtOnce('enotdir', { type: 'stdio', command: join(file, 'server') });
    expect(error.message).toBe(`cannot start "${join(file, 'server')}": a component of the path is not a directory (ENOTDIR)`);
  });

  it('a working directory that does not exist, said as such (not "command not found")', async () => {
    const cwd = join(dir, 'missing-dir');
    const error = await failsAtOnce('no-cwd', { type: 'stdio', command: process.execPath, args: [fixtureServerPath, 'stdio'], cwd });
    expect(error.message).toBe(`cannot start "${process.execPath}": the working directory "${cwd}" does not exist`);
  });
});

describe('HTTP requests fetch can never send: failed after one attempt', () => {
  // A line break at the end is trimmed by fetch (and works); one inside the value cannot be sent.
  it('a header value with a line break inside (Streamable HTTP): the header is named, its value is not', async () => {
    const error = await failsAtOnce('header-value', { type: 'streamable-http', url: fixture.mcpUrl, headers: { Authorization: 'Bearer planted\nheader' } });
    expect(error.message).toBe('invalid value for header "Authorization" (line breaks, NUL or other control characters are not allowed)');
  });

  it('an invalid header name (SSE)', async () => {
    const error = await failsAtOnce('header-name', { type: 'sse', url: fixture.sseUrl, headers: { 'X Token': 'planted-value' } });
    expect(error.message).toBe('invalid header name "X Token"');
  });

  for (const type of ['streamable-http', 'sse'] as const) {
    it(`a URL with credentials (${type}): fetch refuses it; the credentials and query values are masked`, async () => {
      const url = new URL(type === 'sse' ? fixture.sseUrl : fixture.mcpUrl);
      url.username = 'planted-user';
      url.password = 'planted-pass';
      url.search = '?token=planted-q';
      const error = await failsAtOnce(`credentials-${type}`, { type, url: url.toString() });
      expect(error.message).toBe(
        `the URL includes credentials (user:password@), which fetch refuses to send; put them in an "Authorization" header instead: http://***:***@127.0.0.1:${fixture.port}${url.pathname}?token=***`,
      );
    });
  }

  it('an unsupported URL scheme', async () => {
    const error = await failsAtOnce('scheme', { type: 'streamable-http', url: 'ftp://127.0.0.1/mcp' });
    expect(error.message).toBe('unsupported URL scheme "ftp:" (streamable-http needs http: or https:)');
  });
});
