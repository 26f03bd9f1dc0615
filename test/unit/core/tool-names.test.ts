import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_NAME_LENGTH, NameTable, exposedName } from '../../../src/core/tool-names.js';

/** Server ids as the config allows them (`SERVER_ID_PATTERN`): `__` and `.` included. */
const serverId = fc.stringMatching(/^[A-Za-z0-9._-]{1,128}$/).filter((id) => id !== '.' && id !== '..');
/** Tool names as servers send them: mostly MCP-valid, sometimes anything at all. */
const toolName = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.-]{1,128}$/), fc.string({ minLength: 1, maxLength: 200 }), fc.constantFrom('a', 'a.b', 'a_b', 'x__y'));
const entry = fc.record({ server: fc.oneof(serverId, fc.constantFrom('a', 'a__b', 'a.b', 'a_b')), name: toolName });
const entries = fc.array(entry, { maxLength: 40 });
const maxLength = fc.oneof(fc.constant(DEFAULT_MAX_NAME_LENGTH), fc.integer({ min: 16, max: 128 }));
const CHARSET = /^[A-Za-z0-9_-]+$/;

describe('exposedName', () => {
  it('is <server>__<name> when that is already valid and short', () => {
    expect(exposedName('files', 'read_file')).toBe('files__read_file');
    expect(exposedName('my.server', 'get.thing')).toBe('my_server__get_thing');
  });

  it('keeps to the charset and the length, and is deterministic', () => {
    fc.assert(
      fc.property(entry, maxLength, ({ server, name }, max) => {
        const exposed = exposedName(server, name, max);
        expect(exposed).toMatch(CHARSET);
        expect(exposed.length).toBeLessThanOrEqual(max);
        expect(exposedName(server, name, max)).toBe(exposed);
      }),
    );
  });

  it('cuts a long name and ends it with an 8-character hash of server and name', () => {
    const long = exposedName('s'.repeat(60), 'tool');
    expect(long).toHaveLength(64);
    expect(long).toMatch(/^s+_[a-z2-7]{8}$/);
    // Same cut prefix, different originals: different hashes.
    expect(exposedName('s'.repeat(60), 'other')).not.toBe(long);
  });

  it('refuses a length that leaves no room for the hash, or beyond MCP’s 128', () => {
    expect(() => exposedName('a', 'b', 8)).toThrow(RangeError);
    expect(() => exposedName('a', 'b', 129)).toThrow(RangeError);
    expect(() => exposedName('a', 'b', 20.5)).toThrow(RangeError);
  });
});

describe('NameTable', () => {
  it('is injective: every entry has its own name, and resolve gives back the original', () => {
    fc.assert(
      fc.property(entries, maxLength, (list, max) => {
        const table = new NameTable(list, max);
        const seen = new Map<string, string>();
        for (const { server, name } of list) {
          const exposed = table.exposed(server, name)!;
          expect(exposed).toMatch(CHARSET);
          expect(exposed.length).toBeLessThanOrEqual(max);
          const key = JSON.stringify([server, name]);
          const other = seen.get(exposed);
          if (other !== undefined) expect(other).toBe(key);
          seen.set(exposed, key);
          expect(table.resolve(exposed)).toEqual({ server, name });
        }
      }),
    );
  });

  it('does not depend on the order entries arrive in', () => {
    fc.assert(
      fc.property(
        entries.chain((list) => fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }))),
        maxLength,
        ([list, shuffled], max) => {
          const a = new NameTable(list, max);
          const b = new NameTable(shuffled, max);
          for (const { server, name } of list) expect(b.exposed(server, name)).toBe(a.exposed(server, name));
        },
      ),
    );
  });

  it('never splits on the separator: ids with `__` and `.` resolve to the right server', () => {
    const table = new NameTable([
      { server: 'a__b', name: 'c' },
      { server: 'a', name: 'b__c' },
      { server: 'x.y', name: 'z' },
    ]);
    // `a__b__c` twice: both get a hash suffix, and each resolves to its own server.
    const one = table.exposed('a__b', 'c')!;
    const two = table.exposed('a', 'b__c')!;
    expect(one).not.toBe(two);
    expect(one).toMatch(/^a__b__c_[a-z2-7]{8}$/);
    expect(two).toMatch(/^a__b__c_[a-z2-7]{8}$/);
    expect(table.resolve(one)).toEqual({ server: 'a__b', name: 'c' });
    expect(table.resolve(two)).toEqual({ server: 'a', name: 'b__c' });
    expect(table.resolve('a__b__c')).toBeUndefined();
    expect(table.exposed('x.y', 'z')).toBe('x_y__z');
    expect(table.resolve('x_y__z')).toEqual({ server: 'x.y', name: 'z' });
  });

  it('gives every colliding entry the suffix (sanitizing or cutting), and leaves the others alone', () => {
    const table = new NameTable([
      { server: 'files', name: 'read.file' },
      { server: 'files', name: 'read_file' },
      { server: 'files', name: 'write' },
    ]);
    expect(table.exposed('files', 'write')).toBe('files__write');
    const dotted = table.exposed('files', 'read.file')!;
    const underscored = table.exposed('files', 'read_file')!;
    expect(dotted).toMatch(/^files__read_file_[a-z2-7]{8}$/);
    expect(underscored).toMatch(/^files__read_file_[a-z2-7]{8}$/);
    expect(dotted).not.toBe(underscored);
  });

  it('stays injective when a tool is literally named like another one’s suffixed name', () => {
    const first = new NameTable([
      { server: 's', name: 'a.b' },
      { server: 's', name: 'a_b' },
    ]);
    const suffixed = first.exposed('s', 'a.b')!;
    // A third tool whose plain exposed name is exactly that suffixed name.
    const tricky = suffixed.slice('s__'.length);
    const table = new NameTable([
      { server: 's', name: 'a.b' },
      { server: 's', name: 'a_b' },
      { server: 's', name: tricky },
    ]);
    const names = ['a.b', 'a_b', tricky].map((name) => table.exposed('s', name));
    expect(new Set(names).size).toBe(3);
    for (const name of ['a.b', 'a_b', tricky]) expect(table.resolve(table.exposed('s', name)!)).toEqual({ server: 's', name });
  });

  it('knows nothing it was not given', () => {
    const table = new NameTable([{ server: 'a', name: 'b' }]);
    expect(table.exposed('a', 'c')).toBeUndefined();
    expect(table.exposed('b', 'b')).toBeUndefined();
    expect(table.resolve('nope')).toBeUndefined();
  });
});
