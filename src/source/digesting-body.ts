import { createHash, type Hash } from 'node:crypto';
import type { BodySource } from './body-source.ts';

/** RFC 9530's form of a SHA-256 digest: `sha-256=:<base64>:` (a Repr-Digest dictionary member). */
export function formatSha256(digest: Buffer): string {
  return `sha-256=:${digest.toString('base64')}:`;
}

/**
 * A body that computes the SHA-256 of the whole body while the protocol reads it, and its digest
 * (`value`) once every byte went past in order. Hashing rides on the reads the upload makes anyway:
 * each chunk is hashed before it is handed on, so a body read once from 0 to the end costs no extra read.
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
  #hash: Hash = createHash('sha256');
  /** Bytes [0, hashed) went into `#hash`. */
  #hashed = 0;
  #value: string | null = null;

  constructor(source: BodySource) {
    this.#source = source;
    this.size = source.size;
    if (this.size === 0) this.#value = formatSha256(this.#hash.digest());
  }

  /** `sha-256=:…:` once the whole body was hashed, else null. */
  get value(): string | null {
    return this.#value;
  }

  read(start: number, end?: number): AsyncIterable<Uint8Array> {
    return this.#read(start, end);
  }

  /** Hashes what is left (an extra read of it) and returns the digest. */
  async complete(): Promise<string> {
    if (this.#value === null) await this.#hashRange(this.#hashed, this.size);
    if (this.#value === null) throw new Error('the body ended before its recorded size');
    return this.#value;
  }

  async *#read(start: number, end: number | undefined): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.#value === null && start > this.#hashed) await this.#hashRange(this.#hashed, start);
    let position = start;
    for await (const chunk of this.#source.read(start, end)) {
      this.#take(position, chunk);
      position += chunk.byteLength;
      yield chunk;
    }
  }

  async #hashRange(start: number, end: number): Promise<void> {
    let position = start;
    for await (const chunk of this.#source.read(start, end)) {
      const piece = position + chunk.byteLength > end ? chunk.subarray(0, end - position) : chunk;
      this.#take(position, piece);
      position += piece.byteLength;
      if (position >= end) break;
    }
  }

  /** Feeds the part of a chunk at `position` that extends the hashed prefix. */
  #take(position: number, chunk: Uint8Array): void {
    if (this.#value !== null || position > this.#hashed) return;
    const reach = position + chunk.byteLength;
    if (reach <= this.#hashed) return;
    this.#hash.update(chunk.subarray(this.#hashed - position));
    this.#hashed = reach;
    if (this.#hashed >= this.size) this.#value = formatSha256(this.#hash.digest());
  }
}
