import { constants, createWriteStream, type WriteStream } from 'node:fs';

/** A response body file is the host's own: opened without following a link or waiting on a FIFO. */
const RESPONSE_FILE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** The stream a final response's body is written to (created or truncated, 0600). */
export function createResponseFile(path: string): WriteStream {
  // fs.open takes numeric flags; @types/node only declares the string form for streams.
  return createWriteStream(path, { flags: RESPONSE_FILE_FLAGS as unknown as string, mode: 0o600 });
}
