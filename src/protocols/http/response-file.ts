import { constants, createWriteStream, type WriteStream } from 'node:fs';

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
