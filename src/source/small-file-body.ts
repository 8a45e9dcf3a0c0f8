import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { TransferError } from '../core/errors.ts';
import type { FileSourceInfo } from './file-source.ts';

/**
 * Bodies up to this size are read in one synchronous read. Through fs/promises a 4 KiB body took six
 * thread-pool round trips (open, fstat, read, fstat, read past the end, close): about 380 µs of CPU
 * per file, against 16 µs for the same work synchronously (docs/performance.md, "Host: many small
 * uploads"), and a host sending thousands of small files pays it for each. A read of a regular file
 * this small blocks the event loop no longer than the stat every start already makes of it.
 */
export const SMALL_BODY_BYTES = 64 * 1024;

/**
 * A small file (at most SMALL_BODY_BYTES) from `start` to `end`, read whole when the consumer pulls
 * the first chunk, with the checks of readFileBody (file-source.ts): one byte past the recorded size is
 * asked for, so a file that grew is caught by the same read, and one fstat after the read compares
 * inode, size and mtime with what was recorded (a file replaced before the open, or changed during the
 * read, differs in one of them).
 */
export async function* readSmallFileBody(
  source: FileSourceInfo,
  start = 0,
  end = source.size,
): AsyncGenerator<Uint8Array, void, undefined> {
  const stop = Math.min(end, source.size);
  const whole = readWhole(source);
  if (start < stop) yield whole.subarray(start, stop);
}

function readWhole(source: FileSourceInfo): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put in the file's place must not block the event loop (the fstat refuses it).
    fd = openSync(source.path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw changed(source, 'file is gone');
    throw new TransferError('BT_ERR_FILE_UNREADABLE', `source file cannot be read: ${source.path}`, { cause: error });
  }
  try {
    const buffer = Buffer.allocUnsafe(source.size + 1);
    let filled = 0;
    for (;;) {
      const bytesRead = readOnce(source, fd, buffer, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled > source.size) throw changed(source, `it yields more than the ${source.size} bytes recorded`);
    }
    const now = fstatSync(fd);
    if (now.ino !== source.ino || now.size !== source.size || now.mtimeMs !== source.mtimeMs) {
      throw changed(source, 'differs from when the upload was queued');
    }
    if (filled < source.size) throw changed(source, `ended at byte ${filled} of ${source.size}`);
    return buffer.subarray(0, source.size);
  } finally {
    closeSync(fd);
  }
}

function readOnce(source: FileSourceInfo, fd: number, buffer: Buffer, filled: number): number {
  try {
    return readSync(fd, buffer, filled, buffer.length - filled, filled);
  } catch (error) {
    throw new TransferError('BT_ERR_FILE_UNREADABLE', `source file cannot be read: ${source.path}`, { cause: error });
  }
}

function changed(source: FileSourceInfo, detail: string): TransferError {
  return new TransferError(
    'BT_ERR_SOURCE_CHANGED',
    `source file changed during the upload: ${source.path} (${detail})`,
  );
}
