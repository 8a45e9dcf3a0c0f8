import { type ErrorCode, TransferError } from './errors.ts';
import { nodeFs } from './lazy-builtins.ts';

// Not `import … from 'node:fs'`: its ES module facade costs the streams' modules (core/lazy-builtins.ts).
const { closeSync, constants, fstatSync, openSync, readSync } = nodeFs();

/**
 * Reads a small file of the home (config.json, a lock's pid, bgtransfer.db.id, host.failed) without letting what
 * sits at that path turn the read against us: a FIFO would block for ever, a link to /dev/zero would
 * never end, a link elsewhere would read (or, for writers, clobber) a file the user did not mean. So:
 * O_NOFOLLOW (a symbolic link fails with ELOOP), O_NONBLOCK (opening a FIFO does not wait for a writer),
 * fstat on the opened descriptor (no race with a swap after a stat), regular files only, and a size bound
 * checked before reading and again while reading (a file that grows does not escape it).
 */

/** Open flags for a file in the home that must not be a link and must not block on open. */
export const NO_FOLLOW_READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export interface SafeReadOptions {
  /** Largest size accepted, in bytes. */
  maxBytes: number;
  /** The code of the error for a file that is there but not acceptable. */
  code: ErrorCode;
  /** Names the file in messages, e.g. "config". */
  what: string;
  /** For files the user names outside the home (CA certificates): a link is followed. @default false */
  followLinks?: boolean;
}

/** The file's bytes, or undefined when nothing is at `path`. */
export function readBoundedFile(path: string, options: SafeReadOptions): Buffer | undefined {
  const refuse = (reason: string, cause?: unknown): TransferError =>
    new TransferError(options.code, `${options.what}: ${path} ${reason}`, cause === undefined ? {} : { cause });
  let fd: number;
  try {
    fd = openSync(path, options.followLinks ? constants.O_RDONLY | constants.O_NONBLOCK : NO_FOLLOW_READ);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP')
      throw refuse('is a symbolic link; it is not followed (replace it with a regular file)', error);
    throw refuse(`cannot be opened (${code})`, error);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw refuse(`is not a regular file (${fileKind(stats)}); it is not read`);
    if (stats.size > options.maxBytes) {
      throw refuse(`is ${stats.size} bytes, more than the ${options.maxBytes} bytes allowed; it is not read`);
    }
    // One byte more than allowed is read to notice a file that grew (or a size that lies, as under /proc).
    const buffer = Buffer.alloc(options.maxBytes + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > options.maxBytes) {
        throw refuse(`holds more than the ${options.maxBytes} bytes allowed; it is not read`);
      }
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/** What a non-regular file is, in words a user recognises. */
export function fileKind(stats: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSymbolicLink(): boolean;
}): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'a regular file';
}

/** A pid file's pid (lock files), read safely; undefined for a missing, unsafe or malformed file. */
export function readPidFile(path: string): number | undefined {
  let bytes: Buffer | undefined;
  try {
    bytes = readBoundedFile(path, { maxBytes: 64, code: 'BT_ERR_HOME_UNSAFE', what: 'lock' });
  } catch {
    return undefined;
  }
  if (bytes === undefined) return undefined;
  const pid = Number.parseInt(bytes.toString('utf8'), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
