import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  path: string;
  /** Removes the directory and everything in it; safe to call twice. */
  cleanup(): Promise<void>;
}

/** A fresh directory under the OS temp dir, e.g. `makeTempDir('http-upload-')`. */
export async function makeTempDir(prefix: string): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    cleanup: () => rm(path, { recursive: true, force: true }),
  };
}

export interface RandomFile {
  path: string;
  /** Lower-case hex sha256 of the content. */
  sha256: string;
  size: number;
}

const WRITE_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Writes `bytes` of pseudo-random content to `dir/name` and returns its path, sha256 and size.
 *
 * The content is an AES-128-CTR keystream under a random key: as good as random for catching
 * reordered, repeated or dropped chunks (no period a chunk boundary could hide in), and several
 * GB/s to produce. It is generated and hashed one chunk at a time, so a 2 GiB file needs only a few
 * MB of memory.
 */
export async function writeRandomFile(dir: string, name: string, bytes: number): Promise<RandomFile> {
  const path = join(dir, name);
  const keystream = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  const zeros = Buffer.alloc(Math.min(WRITE_CHUNK_BYTES, Math.max(bytes, 1)));
  const hash = createHash('sha256');
  const handle = await open(path, 'w');
  try {
    let written = 0;
    while (written < bytes) {
      const length = Math.min(zeros.length, bytes - written);
      const chunk = keystream.update(zeros.subarray(0, length));
      hash.update(chunk);
      for (let offset = 0; offset < chunk.length; ) {
        offset += (await handle.write(chunk, offset, chunk.length - offset)).bytesWritten;
      }
      written += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return { path, sha256: hash.digest('hex'), size: bytes };
}

/**
 * The size of the file at `path`, or undefined when there is none. Synchronous so that a progress
 * callback can look at a download's result file at the moment a report arrives.
 */
export function fileSizeIfPresent(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}
