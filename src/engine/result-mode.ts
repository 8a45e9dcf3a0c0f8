import { fstat } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * The permission bits a download's result file ends with (docs/downloads.md, "The partial file"). The
 * partial file is 0600 while bytes arrive, so that nobody reads a half-written secret; the finished file
 * gets what any program's new file would, 0666 less the umask, or keeps the mode of the file it replaces,
 * as `curl -o` over an existing file does (it writes into that file). Special bits are never carried.
 */
export async function resultFileMode(replaced: number | null): Promise<number> {
  if (replaced !== null) {
    const mode = await modeOf(replaced);
    if (mode !== null) return mode;
  }
  return 0o666 & ~(await currentUmask());
}

/** A regular file's permission bits through a descriptor (an O_PATH one will do); null for anything else. */
function modeOf(fd: number): Promise<number | null> {
  return new Promise((resolve) =>
    fstat(fd, (error, stats) => resolve(error || !stats.isFile() ? null : stats.mode & 0o777)),
  );
}

/**
 * The process's umask, read from /proc (Linux 4.7 on) without changing it: process.umask() with no
 * argument sets it to 0 for a moment, and a file another thread creates meanwhile would escape it.
 */
async function currentUmask(): Promise<number> {
  const status = await readFile('/proc/self/status', 'latin1').catch(() => '');
  const match = /^Umask:\s*([0-7]+)$/m.exec(status);
  // No /proc: the racy getter, which is still exact for this process's own files.
  return match?.[1] === undefined ? process.umask() : Number.parseInt(match[1], 8);
}
