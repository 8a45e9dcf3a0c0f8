import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { toTransferError } from '../core/errors.ts';
import { nodeFsPromises, nodeStream } from '../core/lazy-builtins.ts';

const CHUNK_BYTES = 64 * 1024;

/**
 * The response body file from `position` to its current end, as a Readable that honours backpressure.
 * A body that does not exist yet (no response so far) reads as empty (R46).
 */
export function openResultStream(path: string, position: number): Readable {
  return nodeStream().Readable.from(readFrom(path, position), { objectMode: false });
}

async function* readFrom(path: string, position: number): AsyncGenerator<Buffer> {
  let handle: FileHandle;
  try {
    handle = await nodeFsPromises().open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw toTransferError(error, 'BT_ERR_IO');
  }
  try {
    let offset = position;
    for (;;) {
      const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, offset);
      if (bytesRead === 0) return;
      offset += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
