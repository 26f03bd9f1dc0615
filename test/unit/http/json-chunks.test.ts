import { describe, expect, it } from 'vitest';
import { JsonChunks, streamOf } from '../../../src/http/json-chunks.js';

const CHUNK = 64 * 1024;

describe('JsonChunks', () => {
  it('writes the texts as their UTF-8 bytes, in order, split across chunks of 64 KiB', () => {
    const texts = Array.from({ length: 3_000 }, (_, index) => `{"id":"s${index}","note":"${'x'.repeat(index % 97)}"}`);
    const out = new JsonChunks();
    for (const text of texts) out.write(text);
    const chunks = out.chunks();
    const expected = texts.join('');
    expect(Buffer.concat(chunks).toString('utf8')).toBe(expected);
    expect(chunks.length).toBe(Math.ceil(Buffer.byteLength(expected) / CHUNK));
    for (const chunk of chunks.slice(0, -1)) expect(chunk.byteLength).toBe(CHUNK);
  });

  it('splits a character of several bytes across a chunk boundary as bytes (the body is a byte stream), and a text longer than a chunk', () => {
    const out = new JsonChunks();
    // 'é' is two bytes and '漢' three: the boundary falls inside one of them.
    const wide = 'é漢'.repeat(30_000);
    out.write('a'.repeat(CHUNK - 1));
    out.write(wide);
    out.write('🙂 end');
    const chunks = out.chunks();
    expect(Buffer.concat(chunks).toString('utf8')).toBe(`${'a'.repeat(CHUNK - 1)}${wide}🙂 end`);
    expect(chunks[0]?.byteLength).toBe(CHUNK);
  });

  it('writes nothing as no chunk', () => {
    expect(new JsonChunks().chunks()).toEqual([]);
  });
});

describe('streamOf', () => {
  it('hands over the chunks in order, then ends', async () => {
    const chunks = [Buffer.from('{"a":'), Buffer.from('1}')];
    expect(await new Response(streamOf(chunks)).text()).toBe('{"a":1}');
    expect(await new Response(streamOf([])).text()).toBe('');
  });
});
