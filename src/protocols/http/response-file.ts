import { constants, createWriteStream, unlinkSync, type WriteStream } from 'node:fs';
import { TransferError } from '../../core/errors.ts';

/** A response body file is the host's own: opened without following a link or waiting on a FIFO. */
const RESPONSE_FILE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** The same, keeping what the file holds (a download's partial file, written on from `position`). */
const CONTINUED_FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The stream a final response's body is written to (0600): created or truncated, or, with `position`,
 * kept and written from that byte on.
 */
export function createResponseFile(path: string, position?: number): WriteStream {
  // fs.open takes numeric flags; @types/node only declares the string form for streams.
  if (position === undefined) {
    return createWriteStream(path, { flags: RESPONSE_FILE_FLAGS as unknown as string, mode: 0o600 });
  }
  return createWriteStream(path, { flags: CONTINUED_FILE_FLAGS as unknown as string, mode: 0o600, start: position });
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
