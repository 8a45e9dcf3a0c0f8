import { constants, createWriteStream, unlinkSync, type WriteStream } from 'node:fs';
import { TransferError } from '../../core/errors.ts';

/** A response body file is the host's own: opened without following a link or waiting on a FIFO. */
const RESPONSE_FILE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** The same, keeping what the file holds (a download's partial file, written on from `position`). */
const CONTINUED_FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/**
 * How much a response file may hold unwritten before `write` asks the socket to pause. The stream's
 * 16 KiB default is below one socket read (64 KiB), so every chunk paused and resumed the socket and
 * went to the disk alone; with room for a few chunks, they queue while one write runs and go out
 * together as one writev, and the socket keeps reading. Memory stays bounded by this.
 */
export const RESPONSE_FILE_HIGH_WATER_MARK = 1024 * 1024;

/**
 * The stream a final response's body is written to (0600): created or truncated, or, with `position`,
 * kept and written from that byte on.
 */
export function createResponseFile(path: string, position?: number): WriteStream {
  // fs.open takes numeric flags; @types/node only declares the string form for streams.
  if (position === undefined) {
    return createWriteStream(path, {
      flags: RESPONSE_FILE_FLAGS as unknown as string,
      mode: 0o600,
      highWaterMark: RESPONSE_FILE_HIGH_WATER_MARK,
    });
  }
  return createWriteStream(path, {
    flags: CONTINUED_FILE_FLAGS as unknown as string,
    mode: 0o600,
    start: position,
    highWaterMark: RESPONSE_FILE_HIGH_WATER_MARK,
  });
}

/** createResponseFile, with a write error reported as BT_ERR_IO. Opened at an answer's first body byte. */
export function openResponseFile(
  path: string,
  onError: (error: TransferError) => void,
  position?: number,
): WriteStream {
  const file = createResponseFile(path, position);
  file.on('error', (error) => {
    onError(
      new TransferError('BT_ERR_IO', `cannot write the response body to ${path}: ${error.message}`, { cause: error }),
    );
  });
  return file;
}

/**
 * A file is opened only at an answer's first body byte, so after an empty answer an earlier attempt's
 * body must go: it would be read as this answer's. One unlink (a link is removed, never followed), far
 * cheaper than creating and closing an empty file. Null when done.
 */
export function removeStaleResponseFile(path: string): TransferError | null {
  try {
    unlinkSync(path);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'ENOENT') return null;
    return new TransferError('BT_ERR_IO', `cannot remove the old response body ${path}: ${message}`, { cause: error });
  }
  return null;
}
