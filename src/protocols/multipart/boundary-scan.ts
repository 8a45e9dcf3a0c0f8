import { TransferError } from '../../core/errors.ts';
import type { FileSourceInfo } from '../../source/file-source.ts';

/**
 * RFC 2046 §5.1.1: the delimiter (CRLF "--" boundary) must not occur inside a part. An app-chosen
 * boundary can: a server then parses a part cut short plus a made-up one, and the upload would report
 * completed. Text parts are checked when the upload is created; a file part is checked here, while it
 * streams, across chunk edges. The part's content follows a CRLF (the blank line after its headers),
 * so content that starts with "--boundary" matches too.
 */

export function delimiterOf(boundary: string): Buffer {
  return Buffer.from(`\r\n--${boundary}`, 'latin1');
}

/**
 * Found in a text part when the upload is created: a bad argument (BT_ERR_INVALID_ARGUMENT), as every
 * other check at creation. Found in a file while it streams: BT_ERR_BOUNDARY_IN_CONTENT.
 */
export function boundaryInContent(where: string, boundary: string, atCreation = false): TransferError {
  return new TransferError(
    atCreation ? 'BT_ERR_INVALID_ARGUMENT' : 'BT_ERR_BOUNDARY_IN_CONTENT',
    `${where} contains the multipart boundary delimiter "--${boundary}"; a server would split the part there. ` +
      'Leave the boundary out to get a random one, or choose one that does not occur in the content',
  );
}

/**
 * Passes `chunks` (bytes [from, …) of `file`'s content) through, from byte `skip` on, and fails with
 * BT_ERR_BOUNDARY_IN_CONTENT before handing over a chunk in which the delimiter ends. `from` is up to
 * delimiter-length bytes before `skip`, so a delimiter across the resume point is found too.
 */
export async function* scanFilePart(
  chunks: AsyncIterable<Uint8Array>,
  file: FileSourceInfo,
  boundary: string,
  from: number,
  skip: number,
): AsyncGenerator<Uint8Array> {
  const delimiter = delimiterOf(boundary);
  const keep = delimiter.length - 1;
  // The CRLF before the content: only when the scan starts at the content's first byte.
  let tail: Buffer = from === 0 ? Buffer.from('\r\n', 'latin1') : Buffer.alloc(0);
  let position = from;
  for await (const piece of chunks) {
    const chunk = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    // The delimiter either lies inside the chunk or straddles the edge with the previous bytes.
    const edge = Buffer.concat([tail, chunk.subarray(0, keep)]);
    if (edge.indexOf(delimiter) !== -1 || chunk.indexOf(delimiter) !== -1) {
      throw boundaryInContent(`the file part ${file.path}`, boundary);
    }
    tail =
      chunk.length >= keep
        ? Buffer.from(chunk.subarray(chunk.length - keep))
        : Buffer.concat([tail, chunk]).subarray(-keep);
    const start = position;
    position += chunk.length;
    if (position <= skip) continue;
    yield start >= skip ? piece : piece.subarray(skip - start);
  }
}

/** Where the scan of a file read from `skip` starts: early enough to see a delimiter across `skip`. */
export function scanStart(skip: number, boundary: string): number {
  return Math.max(0, skip - (delimiterOf(boundary).length - 1));
}
