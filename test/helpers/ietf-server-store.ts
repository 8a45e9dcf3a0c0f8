import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';

/** Server-side state of one upload resource. */
export interface IetfUpload {
  id: string;
  /** Length of the representation, when known (Content-Length of a completing creation, or Upload-Length). */
  length: number | null;
  /** Bytes stored (flushed to the data file). */
  offset: number;
  complete: boolean;
  /** Body bytes received over all requests (bytes sent twice count twice). */
  receivedBytes: number;
}

export interface StoredUpload extends IetfUpload {
  path: string;
  /** The request currently writing to the upload, and when its bytes are all flushed. */
  active: { req: IncomingMessage; done: Promise<void> } | null;
}

/**
 * Appends the request body at the upload's offset as it arrives (backpressure: the socket pauses
 * while the disk catches up). Resolves true when the body ended normally, false when the
 * connection died first; either way every received byte is flushed and counted in `offset`. The body of
 * a completing request (Upload-Complete: ?1) that ended at the upload's length marks it `complete`.
 */
export function receiveInto(upload: StoredUpload, req: IncomingMessage, flushDelayMs = 0): Promise<boolean> {
  // A request with Upload-Complete: ?1 whose whole body arrived completes the upload in the same turn
  // as its last bytes count: a request that ended it meanwhile (§"Concurrency": a resume's HEAD) must
  // never see every byte and an incomplete upload, which it would complete with an empty final append.
  const completing = req.headers['upload-complete'] === '?1';
  const start = upload.offset;
  // A 1 MiB buffer, like a real server's: a 16 KiB one pauses the socket so often that a cut loses
  // megabytes queued in the kernel.
  const file = createWriteStream(upload.path, { flags: 'r+', start, highWaterMark: 1024 * 1024 });
  let ended = false;
  const done = new Promise<void>((resolve) => {
    file.on('close', () => {
      upload.offset = start + file.bytesWritten;
      if (ended && completing && (upload.length === null || upload.offset === upload.length)) {
        upload.complete = true;
        upload.length = upload.offset;
      }
      upload.active = null;
      resolve();
    });
    file.on('error', () => {});
  });
  upload.active = { req, done };
  req.on('data', (chunk: Buffer) => {
    upload.receivedBytes += chunk.byteLength;
    if (!file.write(chunk)) {
      req.pause();
      file.once('drain', () => req.resume());
    }
  });
  req.on('end', () => {
    ended = true;
    if (flushDelayMs > 0) setTimeout(() => file.end(), flushDelayMs);
    else file.end();
  });
  req.on('close', () => {
    if (!ended && !file.writableEnded) file.end();
  });
  return done.then(() => ended);
}

export function hashFile(path: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
