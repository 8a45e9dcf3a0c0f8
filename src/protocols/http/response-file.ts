import { close, constants, lstatSync, open, unlinkSync, writev } from 'node:fs';
import { TransferError } from '../../core/errors.ts';
import { noteBodyBytesReleased } from '../../core/young-collection.ts';

/** A response body file is the host's own: opened without following a link or waiting on a FIFO. */
const RESPONSE_FILE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** The same, keeping what the file holds (a download's partial file, written on from `position`). */
const CONTINUED_FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/**
 * How much a response file may hold unwritten before `write` asks the socket to pause. Chunks queue
 * while one write runs and go out together as one writev, so the socket keeps reading; a limit below a
 * few socket reads (64 KiB each) paused and resumed the socket per chunk. Memory stays bounded by this.
 */
export const RESPONSE_FILE_HIGH_WATER_MARK = 4 * 1024 * 1024;
/** At most this many chunks per writev (Linux's IOV_MAX is 1024). */
const MAX_CHUNKS_PER_WRITE = 1024;

export interface ResponseFileEvents {
  /** These chunks reached the file (the kernel took them), in file order: progress, and hashes of what is on disk. */
  onWritten(chunks: readonly Buffer[], bytes: number): void;
  /** `write` returned false earlier and the queue is below the limit again. */
  onDrain(): void;
  /** Opening or writing failed (BT_ERR_IO with the errno as cause); nothing more is written. */
  onError(error: TransferError): void;
}

/**
 * The file a final response's body is written to (0600): created or truncated, or, with `position`,
 * kept and written from that byte on. One positioned writev at a time takes every chunk queued while
 * the previous one ran: per chunk there is only a push onto an array (a big GET passes 16384 socket
 * reads per GiB through here; fs.WriteStream's per-chunk bookkeeping was a visible share of the host's CPU).
 */
export class ResponseFile {
  readonly #path: string;
  readonly #events: ResponseFileEvents;
  #fd: number | null = null;
  #position: number;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #busy = true;
  #needsDrain = false;
  #failed = false;
  #stopping = false;
  #closed = false;
  #onClosed: Array<() => void> = [];

  constructor(path: string, events: ResponseFileEvents, position?: number) {
    this.#path = path;
    this.#events = events;
    this.#position = position ?? 0;
    const flags = position === undefined ? RESPONSE_FILE_FLAGS : CONTINUED_FILE_FLAGS;
    open(path, flags, 0o600, (error, fd) => {
      this.#busy = false;
      if (error) this.#fail(error);
      else this.#fd = fd;
      this.#next();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queues a chunk; false when the queue is over the limit: pause the source until `onDrain`. */
  write(chunk: Buffer): boolean {
    if (this.#failed || this.#stopping) return true;
    this.#queue.push(chunk);
    this.#queuedBytes += chunk.byteLength;
    this.#next();
    if (this.#queuedBytes < RESPONSE_FILE_HIGH_WATER_MARK) return true;
    this.#needsDrain = true;
    return false;
  }

  /** Writes what is queued, then closes the file; resolves once it is closed (after a failure too). */
  end(): Promise<void> {
    return this.#stop(false);
  }

  /** Drops what is queued, waits for a write under way, and closes the file. */
  destroy(): Promise<void> {
    return this.#stop(true);
  }

  #stop(dropQueue: boolean): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#stopping = true;
    if (dropQueue) {
      this.#queue = [];
      this.#queuedBytes = 0;
    }
    const closed = new Promise<void>((resolve) => this.#onClosed.push(resolve));
    this.#next();
    return closed;
  }

  /** Starts the next writev, or closes the file once stopping and nothing is left to write. */
  #next(): void {
    if (this.#busy || this.#closed) return;
    if (this.#failed) this.#queue = [];
    if (this.#queue.length === 0 || this.#fd === null) {
      if (this.#stopping || this.#failed) this.#close();
      return;
    }
    const fd = this.#fd;
    const chunks =
      this.#queue.length <= MAX_CHUNKS_PER_WRITE ? this.#queue : this.#queue.slice(0, MAX_CHUNKS_PER_WRITE);
    this.#queue = chunks === this.#queue ? [] : this.#queue.slice(MAX_CHUNKS_PER_WRITE);
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.byteLength;
    this.#busy = true;
    writev(fd, chunks, this.#position, (error, written) => {
      this.#busy = false;
      if (error) {
        this.#fail(error);
        this.#next();
        return;
      }
      this.#position += written;
      this.#queuedBytes -= written;
      if (written < bytes) this.#requeueRest(chunks, written);
      this.#events.onWritten(written < bytes ? cut(chunks, written) : chunks, written);
      // The socket buffers just written are garbage now; see core/young-collection.ts for why it matters.
      noteBodyBytesReleased(written);
      this.#next();
      if (this.#needsDrain && this.#queuedBytes < RESPONSE_FILE_HIGH_WATER_MARK && !this.#failed) {
        this.#needsDrain = false;
        this.#events.onDrain();
      }
    });
  }

  /** A short write (e.g. the disk filled up mid-way): the rest goes first in the next writev. */
  #requeueRest(chunks: readonly Buffer[], written: number): void {
    const rest: Buffer[] = [];
    let skip = written;
    for (const chunk of chunks) {
      if (skip >= chunk.byteLength) {
        skip -= chunk.byteLength;
        continue;
      }
      rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
      skip = 0;
    }
    this.#queue = [...rest, ...this.#queue];
  }

  #fail(error: NodeJS.ErrnoException): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#events.onError(
      new TransferError('BT_ERR_IO', `cannot write the response body to ${this.#path}: ${error.message}`, {
        cause: error,
      }),
    );
  }

  #close(): void {
    const done = (): void => {
      this.#closed = true;
      for (const resolve of this.#onClosed.splice(0)) resolve();
    };
    const fd = this.#fd;
    this.#fd = null;
    this.#busy = true;
    if (fd === null) done();
    else
      close(fd, (error) => {
        if (error) this.#fail(error);
        done();
      });
  }
}

/** The first `bytes` bytes of `chunks`. */
function cut(chunks: readonly Buffer[], bytes: number): Buffer[] {
  const kept: Buffer[] = [];
  let left = bytes;
  for (const chunk of chunks) {
    if (left <= 0) break;
    kept.push(left >= chunk.byteLength ? chunk : chunk.subarray(0, left));
    left -= chunk.byteLength;
  }
  return kept;
}

/**
 * A file is opened only at an answer's first body byte, so after an empty answer an earlier attempt's
 * body must go: it would be read as this answer's. An lstat that does not throw when nothing is there
 * (almost always: most empty answers are an upload's first), then an unlink if something is (a link is
 * removed, never followed): an unlink of a missing file throws, and building that error was most of
 * this function's cost per upload in the host's profile. Null when done.
 */
export function removeStaleResponseFile(path: string): TransferError | null {
  try {
    if (lstatSync(path, { throwIfNoEntry: false }) === undefined) return null;
    unlinkSync(path);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'ENOENT') return null;
    return new TransferError('BT_ERR_IO', `cannot remove the old response body ${path}: ${message}`, { cause: error });
  }
  return null;
}
