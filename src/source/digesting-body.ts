import { createHash, type Hash } from 'node:crypto';
import type { BodySource } from './body-source.ts';
import { CHUNK_BYTES } from './file-source.ts';
import { ThreadedSha256 } from './hash-worker.ts';

/**
 * Bodies from this size on are hashed on the hashing thread (hash-worker.ts); by default none is.
 * Measured on the 2-core machine this project is benchmarked on (docs/performance.md, "Hashing on a
 * thread"), paired 1 GiB PUTs in-process: hashing inline 2.47–2.68 CPU s, on the thread 2.71–3.06, with
 * no wall-time gain: the server hashes too, so there is no idle core for the thread, and the thread
 * reads each piece from another core's cache. Kept for machines with cores to spare (the option below).
 */
export const THREAD_MIN_BYTES = Number.POSITIVE_INFINITY;
/** How long a source lends a chunk: until the consumer is one read (CHUNK_BYTES) further on. */
const LENT_BYTES = CHUNK_BYTES;
/** Copies of pieces the hashing thread has not caught up with, at most (memory bound). */
const MAX_BEHIND_BYTES = 16 * 1024 * 1024;

/** RFC 9530's form of a SHA-256 digest: `sha-256=:<base64>:` (a Repr-Digest dictionary member). */
export function formatSha256(digest: Buffer): string {
  return `sha-256=:${digest.toString('base64')}:`;
}

/**
 * A body that computes the SHA-256 of the whole body while the protocol reads it, and its digest
 * (`value`) once every byte went past in order. Hashing rides on the reads the upload makes anyway:
 * each chunk is hashed as it is handed on, so a body read once from 0 to the end costs no extra read.
 * A big body is hashed on the hashing thread (hash-worker.ts), beside the socket writes: its `value`
 * arrives a moment after the last byte went past (`settled()`).
 *
 * - A read that starts before what is hashed (a re-sent tus chunk, a 307 re-send, a restart) hashes
 *   only the bytes beyond it.
 * - A read that starts after it (a resumed upload: node:crypto cannot persist a hash state) first
 *   re-reads the already-sent prefix, only to hash it, then sends from its start. The prefix is read
 *   at resume rather than at the end because the hash needs the bytes in order: hashing the prefix at
 *   the end would mean reading the part just sent a second time too.
 * - `complete()` reads whatever is not hashed yet: for a digest that a request must carry in its
 *   headers, before its body (one extra read of the body).
 *
 * The source checks the file's identity on every read, so a file changed between attempts is refused
 * (BT_ERR_SOURCE_CHANGED) by the prefix read too, and the digest is never that of two versions.
 */
export class DigestingBody implements BodySource {
  readonly size: number;
  readonly #source: BodySource;
  /** Inline for small bodies; on the hashing thread from THREAD_MIN_BYTES on (hash-worker.ts). */
  readonly #hash: Hash | ThreadedSha256;
  /** Bytes [0, hashed) went into `#hash`. */
  #hashed = 0;
  #value: string | null = null;
  /** The threaded digest on its way, once every byte was fed. */
  #final: Promise<void> | null = null;

  constructor(source: BodySource, options: { threadMinBytes?: number } = {}) {
    this.#source = source;
    this.size = source.size;
    const threaded = this.size >= (options.threadMinBytes ?? THREAD_MIN_BYTES) && this.size > 0;
    this.#hash = threaded ? new ThreadedSha256() : createHash('sha256');
    if (this.size === 0) this.#value = formatSha256(createHash('sha256').digest());
  }

  /** `sha-256=:…:` once the whole body was hashed (and, when threaded, the digest came back), else null. */
  get value(): string | null {
    return this.#value;
  }

  read(start: number, end?: number): AsyncIterable<Uint8Array> {
    return this.#read(start, end);
  }

  /** Hashes what is left (an extra read of it) and returns the digest. */
  async complete(): Promise<string> {
    if (this.#value === null && this.#final === null) await this.#hashRange(this.#hashed, this.size);
    await this.#final;
    if (this.#value === null) throw new Error('the body ended before its recorded size');
    return this.#value;
  }

  /**
   * Waits for a digest still being computed on the hashing thread, or ends its job when the body was
   * not read to the end (the attempt stopped): call once the attempt is over, before reading `value`.
   */
  async settled(): Promise<void> {
    if (this.#final !== null) await this.#final;
    else if (this.#hash instanceof ThreadedSha256) this.#hash.drop();
  }

  async *#read(start: number, end: number | undefined): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.#value === null && this.#final === null && start > this.#hashed)
      await this.#hashRange(this.#hashed, start);
    let position = start;
    for await (const chunk of this.#lent(this.#source.read(start, end), start)) {
      this.#take(position, chunk);
      position += chunk.byteLength;
      yield chunk;
    }
  }

  async #hashRange(start: number, end: number): Promise<void> {
    let position = start;
    for await (const chunk of this.#lent(this.#source.read(start, end), start)) {
      const piece = position + chunk.byteLength > end ? chunk.subarray(0, end - position) : chunk;
      this.#take(position, piece);
      position += piece.byteLength;
      if (position >= end) break;
    }
  }

  /**
   * The chunks of `iterable`, each pulled only once the hashing thread is done with every byte more
   * than LENT_BYTES before it: a source refills a lent buffer once the consumer is a whole read
   * further on (body-source.ts), and the thread reads the buffer itself, not a copy.
   */
  async *#lent(iterable: AsyncIterable<Uint8Array>, start: number): AsyncGenerator<Uint8Array, void, undefined> {
    const hash = this.#hash;
    if (!(hash instanceof ThreadedSha256)) {
      yield* iterable;
      return;
    }
    const iterator = iterable[Symbol.asyncIterator]();
    let position = start;
    try {
      for (;;) {
        await hash.waitUntilHashed(Math.min(this.#hashed, position - LENT_BYTES), MAX_BEHIND_BYTES);
        const next = await iterator.next();
        if (next.done === true) return;
        position += next.value.byteLength;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }

  /** Feeds the part of a chunk at `position` that extends the hashed prefix. */
  #take(position: number, chunk: Uint8Array): void {
    if (this.#value !== null || this.#final !== null || position > this.#hashed) return;
    const reach = position + chunk.byteLength;
    if (reach <= this.#hashed) return;
    this.#hash.update(chunk.subarray(this.#hashed - position));
    this.#hashed = reach;
    if (this.#hashed < this.size) return;
    const hash = this.#hash;
    if (!(hash instanceof ThreadedSha256)) {
      this.#value = formatSha256(hash.digest());
      return;
    }
    // A failed hashing thread leaves the digest unknown (null), as an unfinished read would; the upload goes on.
    this.#final = hash.digest().then(
      (digest) => {
        this.#value = formatSha256(digest);
      },
      () => undefined,
    );
  }
}
