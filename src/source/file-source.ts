import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { TransferError } from '../core/errors.ts';

/** The identity of a source file when the upload was queued; a change of any of these means another file. */
export interface FileSourceInfo {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

/**
 * Checks a source file before anything is queued (issue 2 §8): it must exist, be a regular file and be
 * readable. Synchronous on purpose: `createUpload` is synchronous in Windows (reference §2.1).
 */
export function inspectSourceFile(path: string): FileSourceInfo {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new TransferError('BT_ERR_FILE_NOT_FOUND', `source file not found: ${path}`, { cause: error });
    }
    throw new TransferError('BT_ERR_FILE_UNREADABLE', `source file cannot be read: ${path} (${code})`, {
      cause: error,
    });
  }
  if (!stats.isFile()) {
    throw new TransferError('BT_ERR_NOT_A_FILE', `source is not a regular file: ${path}`);
  }
  try {
    accessSync(path, constants.R_OK);
  } catch (error) {
    throw new TransferError('BT_ERR_FILE_UNREADABLE', `source file cannot be read: ${path}`, { cause: error });
  }
  // Files under /proc and /sys report size 0 and yield bytes: uploaded by size they would arrive empty.
  if (stats.size === 0 && readsPastSize(path)) {
    throw new TransferError(
      'BT_ERR_SOURCE_CHANGED',
      `source file ${path} yields bytes although its size is 0 (its size is not known in advance, as under /proc); ` +
        'copy it to a regular file first, or upload it with createUploadFromStreamAsync',
    );
  }
  return { path, size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino };
}

/** Whether an empty-looking file yields a byte anyway (O_NONBLOCK: never waits). */
function readsPastSize(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return false; // the read at upload time reports it
  }
  try {
    return readSync(fd, Buffer.alloc(1), 0, 1, null) > 0;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

const CHUNK_BYTES = 64 * 1024;

/**
 * A file that yields bytes past its recorded size has changed (it grew, or its size lied, as under
 * /proc): the body would be a silent truncation. Checked before the last chunk is handed over.
 */
async function assertEndsAtSize(handle: FileHandle, source: FileSourceInfo): Promise<void> {
  const { bytesRead } = await handle.read(Buffer.alloc(1), 0, 1, source.size);
  if (bytesRead > 0) throw changed(source, `it yields more than the ${source.size} bytes recorded`);
}

function changed(source: FileSourceInfo, detail: string): TransferError {
  return new TransferError(
    'BT_ERR_SOURCE_CHANGED',
    `source file changed during the upload: ${source.path} (${detail})`,
  );
}

/**
 * Reads `source` from `start` to its recorded size as an async iterable of chunks, for a request body.
 * Pulled by the HTTP client, so backpressure holds memory at one chunk plus the socket buffers.
 *
 * The file is re-checked before the last chunk is handed over: if its size, mtime or inode differ from
 * what was recorded, the body is cut short with BT_ERR_SOURCE_CHANGED, so the server never receives a
 * complete (Content-Length) body made of two versions of the file (issue 2 §8).
 */
export async function* readFileBody(source: FileSourceInfo, start = 0): AsyncGenerator<Uint8Array> {
  const handle = await open(source.path, 'r').catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw changed(source, 'file is gone');
    throw new TransferError('BT_ERR_FILE_UNREADABLE', `source file cannot be read: ${source.path}`, { cause: error });
  });
  try {
    const opened = await handle.stat();
    if (opened.ino !== source.ino || opened.size !== source.size || opened.mtimeMs !== source.mtimeMs) {
      throw changed(source, 'differs from when the upload was queued');
    }
    let position = start;
    if (position >= source.size) await assertEndsAtSize(handle, source);
    while (position < source.size) {
      const length = Math.min(CHUNK_BYTES, source.size - position);
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      if (bytesRead === 0) throw changed(source, `ended at byte ${position} of ${source.size}`);
      position += bytesRead;
      if (position >= source.size) {
        const now = await handle.stat();
        if (now.size !== source.size || now.mtimeMs !== source.mtimeMs) {
          throw changed(source, `size ${source.size} → ${now.size}`);
        }
        await assertEndsAtSize(handle, source);
      }
      yield bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
