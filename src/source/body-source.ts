import { type FileSourceInfo, readFileBody } from './file-source.ts';
import { readSmallFileBody, SMALL_BODY_BYTES } from './small-file-body.ts';

/**
 * A request body that can be read again from any offset: what every upload protocol sends, and what a
 * resume needs (send from the server-acknowledged offset). Files, multipart bodies built from parts,
 * and spooled streams all provide one.
 */
export interface BodySource {
  /** Exact length in bytes (the request carries Content-Length / Upload-Length). */
  readonly size: number;
  /**
   * The bytes from `start` to the end, pulled lazily one chunk at a time (backpressure: the consumer's
   * pace; a source may read a few chunks ahead). Throws BT_ERR_SOURCE_CHANGED when the underlying data
   * changed since the upload was queued. `end` says where the consumer will stop (a tus chunk): a source
   * need not read past it, but may yield more; the consumer cuts the last chunk.
   *
   * A chunk is lent, not given: a file source refills its buffer once the consumer has pulled a whole
   * read (1 MiB) further on. A consumer that keeps bytes longer copies them (file-source.ts, RING_CHUNKS).
   */
  read(start: number, end?: number): AsyncIterable<Uint8Array>;
}

/** A file as a body (raw-body uploads, R7 CreateUpload); a small one is read in one go (small-file-body.ts). */
export function fileBody(source: FileSourceInfo): BodySource {
  const read = source.size <= SMALL_BODY_BYTES ? readSmallFileBody : readFileBody;
  return { size: source.size, read: (start, end) => read(source, start, end) };
}
