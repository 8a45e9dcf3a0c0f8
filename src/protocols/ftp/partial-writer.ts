import { Writable } from 'node:stream';
import type { TransferError } from '../../core/errors.ts';
import type { ChunkHash } from '../http/exchange-types.ts';
import { ResponseFile } from '../http/response-file.ts';

/**
 * The partial file of an FTP download as the Writable that basic-ftp pipes the data connection into.
 * The bytes go through the same ResponseFile as an HTTP download's body (0600, no link followed,
 * positioned writev, backpressure at its high-water mark), and each chunk is hashed once the file took
 * it, so a digest covers what is on disk.
 */
export class PartialWriter extends Writable {
  readonly #file: ResponseFile;
  #written = 0;
  /** The write callback held back while the file's queue is over its limit. */
  #waiting: ((error?: Error | null) => void) | null = null;
  #error: TransferError | null = null;

  /** `position` undefined: the file is truncated and written from byte 0; else kept and written on from there. */
  constructor(path: string, position: number | undefined, hash: ChunkHash | null) {
    super();
    this.#file = new ResponseFile(
      path,
      {
        onWritten: (chunks, bytes) => {
          this.#written += bytes;
          if (hash !== null) for (const chunk of chunks) hash.update(chunk);
        },
        onDrain: () => this.#release(null),
        onError: (error) => {
          this.#error = error;
          if (this.#waiting !== null) this.#release(error);
          else this.destroy(error);
        },
      },
      position,
    );
  }

  /** Bytes the file took so far. */
  get written(): number {
    return this.#written;
  }

  /** Resolves once the file is closed, whatever happened to the stream (after an error too). */
  async settle(): Promise<void> {
    if (!this.writableFinished) await this.#file.destroy();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#error !== null) {
      callback(this.#error);
      return;
    }
    if (this.#file.write(chunk)) callback();
    else this.#waiting = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#file.end().then(() => callback(this.#error));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#release(error);
    this.#file.destroy().then(() => callback(error));
  }

  #release(error: Error | null): void {
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.(error);
  }
}
