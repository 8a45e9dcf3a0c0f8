import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The upload sources of bench/host-small-uploads.ts: one distinct file per upload, f<i>.bin. */

export function fileName(index: number): string {
  return `f${index}.bin`;
}

/** Writes `count` files of `size` random bytes into `dir` (created if needed). */
export async function createFiles(dir: string, count: number, size: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const batch = 256;
  for (let first = 0; first < count; first += batch) {
    const writes: Promise<void>[] = [];
    for (let index = first; index < Math.min(count, first + batch); index++) {
      writes.push(writeFile(join(dir, fileName(index)), randomBytes(size)));
    }
    await Promise.all(writes);
  }
}
