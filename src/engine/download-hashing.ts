import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type ChunkHash, digestParts } from '../protocols/download-protocol.ts';

/**
 * The digests of one download request, computed while its body is written (docs/downloads.md,
 * "Digests"): the bytes pass through the host anyway, so the file need not be read again at the end.
 * Each chunk is hashed once the file took it, so what is checked is what is in the file. A request that
 * continues the partial file first hashes the prefix kept on disk (fsynced, trusted), once.
 */
export class DownloadHashing {
  /** node:crypto algorithm name → its running hash. */
  #hashes = new Map<string, Hash>();
  #bytes = 0;
  /** Hashes already read out (node:crypto name → base64). */
  #done = new Map<string, string>();

  /**
   * Hashes the first `offset` bytes of the partial file for each digest that is already known (the
   * app's, and the server's from an earlier answer), before the request that continues it.
   */
  async prime(partialPath: string, offset: number, digests: ReadonlyArray<string | null | undefined>): Promise<void> {
    this.#reset(digests);
    if (this.#hashes.size === 0 || offset === 0) return;
    const hashes = [...this.#hashes.values()];
    for await (const chunk of createReadStream(partialPath, { start: 0, end: offset - 1 })) {
      for (const hash of hashes) hash.update(chunk as Buffer);
      this.#bytes += (chunk as Buffer).byteLength;
    }
  }

  /**
   * What the answer's body is fed to. `fromStart`: it is written from byte 0 (new hashes for `digests`);
   * otherwise it continues the primed prefix, and a digest whose algorithm was not primed is left to a
   * read of the file at the end. Null when there is nothing to hash.
   */
  sinkFor(fromStart: boolean, digests: ReadonlyArray<string | null | undefined>): ChunkHash | null {
    if (fromStart) this.#reset(digests);
    if (this.#hashes.size === 0) return null;
    const hashes = [...this.#hashes.values()];
    return {
      update: (chunk: Buffer) => {
        for (const hash of hashes) hash.update(chunk);
        this.#bytes += chunk.byteLength;
      },
    };
  }

  /**
   * The base64 digest of the file's first `size` bytes for `digest`'s algorithm, or null when it was not
   * computed over exactly those bytes (the caller then reads the file).
   */
  digestOf(digest: string, size: number): string | null {
    const parts = digestParts(digest);
    if (parts === null || this.#bytes !== size) return null;
    const done = this.#done.get(parts.nodeName);
    if (done !== undefined) return done;
    const hash = this.#hashes.get(parts.nodeName);
    if (hash === undefined) return null;
    // A hash ends when read; the server's and the app's digest may share its algorithm.
    const value = hash.digest('base64');
    this.#done.set(parts.nodeName, value);
    return value;
  }

  #reset(digests: ReadonlyArray<string | null | undefined>): void {
    this.#hashes = new Map();
    this.#done = new Map();
    this.#bytes = 0;
    for (const digest of digests) {
      const parts = typeof digest === 'string' ? digestParts(digest) : null;
      if (parts !== null && !this.#hashes.has(parts.nodeName))
        this.#hashes.set(parts.nodeName, createHash(parts.nodeName));
    }
  }
}
