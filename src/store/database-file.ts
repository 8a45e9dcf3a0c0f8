import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Creates missing parent directories as 0700 and the database file as 0600: it holds URIs and headers. */
export function prepareFile(path: string): void {
  const file = resolve(path);
  const dir = dirname(file);
  const firstCreated = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (firstCreated !== undefined) {
    // mkdir's mode is filtered by the umask; chmod makes every directory we created exactly 0700.
    for (let current = dir; ; current = dirname(current)) {
      chmodSync(current, 0o700);
      if (current === firstCreated || current === dirname(current)) break;
    }
  }
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return; // an existing store keeps its mode
    throw error;
  }
  closeSync(fd);
  chmodSync(file, 0o600); // the umask may have removed bits, never added them; make it exact
}
