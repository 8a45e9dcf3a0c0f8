import { closeSync, linkSync, lstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TransferError } from '../core/errors.ts';
import { isProcessRunning } from '../core/process.ts';
import { readPidFile } from '../core/safe-read.ts';

/**
 * One starter of the transfer host at a time. Without it a burst of apps each spawned a host, and
 * dozens of hosts raced for the engine lock. `host.starting` is created with O_EXCL and holds the
 * starter's pid; a starter that dies (SIGKILL) leaves it behind, and a file whose pid is not running is
 * stale and taken over. The others just wait for the socket.
 */

export function startLockPath(home: string): string {
  return join(home, 'host.starting');
}

/** A file just created may not hold its pid yet; after this long an empty one is stale. */
const EMPTY_LOCK_GRACE_MS = 5_000;

export class StartLock {
  readonly #path: string;
  #held = true;

  private constructor(path: string) {
    this.#path = path;
  }

  /** The lock, or undefined when a live process holds it. */
  static tryAcquire(home: string): StartLock | undefined {
    const path = startLockPath(home);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      if (create(path)) return new StartLock(path);
      if (!isStale(path)) return undefined;
      removeStale(path);
    }
    return undefined;
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    if (readPidFile(this.#path) === process.pid) rmSync(this.#path, { force: true });
  }
}

function create(path: string): boolean {
  let fd: number;
  try {
    // O_EXCL also refuses a link planted at the path: it is never followed.
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new TransferError('BT_ERR_IO', `cannot create ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    writeSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  return true;
}

function isStale(path: string): boolean {
  const pid = readPidFile(path);
  if (pid !== undefined) return pid !== process.pid && !isProcessRunning(pid);
  try {
    return Date.now() - lstatSync(path).mtimeMs > EMPTY_LOCK_GRACE_MS;
  } catch {
    return true; // gone meanwhile: try to create it again
  }
}

/**
 * Rename first, so that of two waiters that found the same stale file only one removes it; a fresh lock
 * another starter created in between is put back.
 */
function removeStale(path: string): void {
  const stalePid = readPidFile(path);
  const claimed = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, claimed);
  } catch {
    return;
  }
  if (readPidFile(claimed) !== stalePid) {
    try {
      linkSync(claimed, path);
    } catch {
      // A newer lock exists: it wins.
    }
  }
  rmSync(claimed, { force: true });
}
