import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * Calls `onLine` with each non-empty line of a file, streamed (never read whole), until the end,
 * `onLine` returns false, or `signal` aborts. A file deleted by rotation or retention before or
 * while it is read ends the reading quietly: what was read is still good.
 */
export async function forEachLine(path: string, onLine: (line: string) => boolean | void, signal?: AbortSignal): Promise<void> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (signal?.aborted) break;
      if (line !== '' && onLine(line) === false) break;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  } finally {
    lines.close();
    input.destroy();
  }
}
