import type { Stats } from 'node:fs';
import { dirname } from 'node:path';
import { TransferError } from './errors.ts';
import { nodeFs } from './lazy-builtins.ts';
import { fileKind } from './safe-read.ts';

// Not `import … from 'node:fs'`: its ES module facade costs the streams' modules (core/lazy-builtins.ts).
const { chmodSync, closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync } = nodeFs();

/**
 * BGTRANSFER_HOME holds the store, the socket, the log and response bodies of one OS user. Whoever can
 * plant a file in it (a link to /dev/zero, to ~/.bashrc, a FIFO) could turn the host against its user,
 * so the home must be a real directory (not a link) owned by the user and writable by nobody else, and
 * every file the host opens there is opened without following links.
 */

function unsafe(message: string, cause?: unknown): TransferError {
  return new TransferError('BT_ERR_HOME_UNSAFE', message, cause === undefined ? {} : { cause });
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unsafe(`cannot inspect ${path}: ${(error as Error).message}`, error);
  }
}

/**
 * Creates the home (0700, with any missing parents) or checks the one that is there: a directory, not a
 * link, owned by this user, not writable by group or others. Read bits for others are taken away
 * (nothing can have been planted through them); write bits are refused, as files may have been.
 */
export function guardHome(home: string): void {
  let stats = lstatOrUndefined(home);
  if (stats === undefined) {
    const first = mkdirSync(home, { recursive: true, mode: 0o700 });
    // mkdir's mode is narrowed by the umask; chmod makes every directory we created exactly 0700.
    for (let current = home; first !== undefined; current = dirname(current)) {
      chmodSync(current, 0o700);
      if (current === first || current === dirname(current)) break;
    }
    stats = lstatSync(home);
  }
  if (stats.isSymbolicLink()) {
    throw unsafe(`BGTRANSFER_HOME ${home} is a symbolic link; set BGTRANSFER_HOME to the real directory`);
  }
  if (!stats.isDirectory()) throw unsafe(`BGTRANSFER_HOME ${home} is ${fileKind(stats)}, not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw unsafe(`BGTRANSFER_HOME ${home} is owned by user ${stats.uid}, not by this user (${uid})`);
  }
  if ((stats.mode & 0o022) !== 0) {
    const mode = (stats.mode & 0o777).toString(8);
    throw unsafe(
      `BGTRANSFER_HOME ${home} has mode ${mode}: others may have put files in it; check its files, then chmod 700 it`,
    );
  }
  if ((stats.mode & 0o777) !== 0o700) chmodSync(home, 0o700);
}

export type EntryKind = 'file' | 'socket' | 'directory';

/**
 * Checks what is at `path` in the home before the host uses it: nothing, or the expected kind of file,
 * never a link. `what` names it in the message.
 */
export function guardHomeEntry(path: string, kind: EntryKind, what: string): void {
  const stats = lstatOrUndefined(path);
  if (stats === undefined) return;
  const ok =
    (kind === 'file' && stats.isFile()) ||
    (kind === 'socket' && stats.isSocket()) ||
    (kind === 'directory' && stats.isDirectory());
  if (!ok) {
    throw unsafe(`${what} ${path} is ${fileKind(stats)}, not a ${kind}; it is not used (remove it)`);
  }
}

/** Refuses a symbolic link at `path` (anything else there is left to the caller's own checks). */
export function refuseLink(path: string, what: string): void {
  if (lstatOrUndefined(path)?.isSymbolicLink()) {
    throw unsafe(`${what} ${path} is a symbolic link; it is not followed (remove it)`);
  }
}

/**
 * Opens (creating, 0600) a file of the home for appending — host.log — without following a link and
 * without blocking on a FIFO; anything but a regular file is refused.
 */
export function openHomeFileForAppend(path: string, what: string): number {
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      0o600,
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw unsafe(`${what} ${path} is a symbolic link; it is not followed (remove it)`, error);
    throw unsafe(`cannot open ${what} ${path} (${code})`, error);
  }
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw unsafe(`${what} ${path} is ${fileKind(stats)}, not a regular file; it is not used (remove it)`);
  }
  return fd;
}
