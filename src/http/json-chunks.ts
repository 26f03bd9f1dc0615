/** Bytes per chunk: ~40 chunks (socket writes) for a list of 10 000. */
const CHUNK_BYTES = 64 * 1024;

/**
 * Writes a long answer made of many small texts (`GET /actors` at 10 000 servers: 2.7 MB) as UTF-8
 * chunks of 64 KiB, for a streamed body. Joining the texts into one string and encoding it made
 * two fresh copies of the whole answer, and fresh memory is what such a copy pays for: on the hosts
 * we measure, first touching a page costs ~3 ns a byte, so each copy of 2.7 MB took 7–8 ms where
 * writing into memory already touched takes 0.1 ms (docs/performance.md). Now the answer is copied
 * once, into the chunks. Chunks are new for each answer: a socket may still be writing one after
 * the stream has handed it over, so they cannot be reused.
 */
export class JsonChunks {
  private readonly done: Array<Uint8Array<ArrayBuffer>> = [];
  private chunk: Buffer<ArrayBuffer> = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;

  /** Appends a text, split across chunks where it does not fit. */
  write(text: string): void {
    // A UTF-8 character is at most 3 bytes per UTF-16 code unit; only a text that may not fit is measured.
    if (CHUNK_BYTES - this.used < text.length * 3 && CHUNK_BYTES - this.used < Buffer.byteLength(text)) {
      this.writeSplit(text);
      return;
    }
    this.used += this.chunk.write(text, this.used);
  }

  /** The chunks written, the last one cut to what it holds; the writer is not used after. */
  chunks(): Array<Uint8Array<ArrayBuffer>> {
    if (this.used > 0) this.done.push(this.chunk.subarray(0, this.used));
    return this.done;
  }

  /** A text that does not fit: what fits of it here, the rest in new chunks. */
  private writeSplit(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    let from = 0;
    while (from < bytes.length) {
      if (this.used === CHUNK_BYTES) {
        this.done.push(this.chunk);
        this.chunk = Buffer.allocUnsafe(CHUNK_BYTES);
        this.used = 0;
      }
      const copied = bytes.copy(this.chunk, this.used, from);
      this.used += copied;
      from += copied;
    }
  }
}

/** A body that hands over these chunks in order. */
export function streamOf(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[next];
      next += 1;
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
}
