import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { TransferError } from '../core/errors.ts';
import { readPidFile } from '../core/safe-read.ts';

/**
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
      const owner = readOwner(path);
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
    if (readOwner(this.#path) === process.pid) rmSync(this.#path, { force: true });
  }
}

function readOwner(path: string): number | undefined {
  return readPidFile(path);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
