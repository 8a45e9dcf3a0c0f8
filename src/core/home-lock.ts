import { closeSync, linkSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { TransferError } from './errors.ts';
import type { Logger } from './logger.ts';
import { homeLayout } from './paths.ts';
import { isProcessRunning } from './process.ts';
import { readPidFile } from './safe-read.ts';

/**
 * The engine lock (`engine.lock`) and everything that reads its pid: the lock itself (the engine takes
 * it), whether a live process holds it (the launcher, before it spawns a host), and the removal of a
 * zombie's lock (the host, before it opens the engine).
 *
 * One engine per BGTRANSFER_HOME: two engines on one store would run the same upload twice. The lock
 * is a file holding the owner's pid, created with O_EXCL; a lock whose pid is dead is stale and taken
 * over (the previous owner was killed, e.g. with SIGKILL).
 */
export class HomeLock {
  readonly #path: string;
  #held = false;

  private constructor(path: string) {
    this.#path = path;
  }

  static acquire(path: string, dir: string): HomeLock {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const lock = new HomeLock(path);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      if (lock.#tryCreate()) return lock;
      const owner = readPid(path);
      if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
        throw new TransferError('BT_ERR_HOME_IN_USE', `process ${owner} already runs the transfer engine for ${dir}`);
      }
      // Stale (dead owner, or our own pid from a reused pid namespace): remove and try again.
      rmSync(path, { force: true });
    }
    throw new TransferError('BT_ERR_HOME_IN_USE', `could not take the engine lock ${path}`);
  }

  #tryCreate(): boolean {
    try {
      const fd = openSync(this.#path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      this.#held = true;
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new TransferError('BT_ERR_IO', `cannot create ${this.#path}`, { cause: error });
    }
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    if (readPid(this.#path) === process.pid) rmSync(this.#path, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in `engine.lock` if that process is running (a zombie is not: it holds nothing any more). */
export function liveLockOwner(home: string): number | undefined {
  const pid = readPid(homeLayout(home).lock);
  return pid !== undefined && isProcessRunning(pid) ? pid : undefined;
}

/**
 * HomeLock treats a pid that kill(pid, 0) finds as alive, and a zombie is found: a host killed after
 * its parent app exited stays a zombie where PID 1 does not reap (containers, CI), and would block
 * every later host. A zombie holds nothing, so its lock is stale.
 */
export function removeZombieLock(home: string, log: Logger): void {
  const lock = homeLayout(home).lock;
  const pid = readPid(lock);
  if (pid === undefined || pid === process.pid || isProcessRunning(pid)) return;
  // Rename first, so that of two hosts starting at once only one moves the file, and a lock another
  // host created in between (not the zombie's) is put back.
  const claimed = `${lock}.${process.pid}.stale`;
  try {
    renameSync(lock, claimed);
  } catch {
    return;
  }
  if (readPid(claimed) === pid) {
    log.info({ pid }, 'removed the engine lock of a process that is no longer running');
  } else {
    try {
      linkSync(claimed, lock);
    } catch {
      // A newer lock exists: it wins.
    }
  }
  rmSync(claimed, { force: true });
}

/** The pid a lock file holds, or undefined (absent, unreadable, not a pid). */
/** A pid file in the home, read without following a link and with a size bound (core/safe-read.ts). */
export function readPid(path: string): number | undefined {
  return readPidFile(path);
}
