import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';

const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Writes `size` random bytes to `path` and returns their sha256. Random data, because a compressible
 * body could flatter a client or a link that compresses. Writing it also leaves the file in the page
 * cache, so every run reads it from memory and the first run is not penalised by the disk.
 */
export async function createRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'w');
  try {
    for (let written = 0; written < size; ) {
      const chunk = randomBytes(Math.min(CHUNK_BYTES, size - written));
      hash.update(chunk);
      await file.write(chunk);
      written += chunk.length;
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}
