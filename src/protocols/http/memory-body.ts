import { MEMORY_SINK_LIMIT_BYTES } from './exchange-types.ts';

/**
 * A response body kept in memory for the caller (the 'memory' sink): at most MEMORY_SINK_LIMIT_BYTES,
 * so a server cannot make the host hold an unbounded answer; what is cut off is only noted.
 */
export class MemoryBody {
  readonly #memory: Buffer[] = [];
  #memoryBytes = 0;
  #truncated = false;

  /** Some of the body did not fit and was dropped. */
  get truncated(): boolean {
    return this.#truncated;
  }

  keep(chunk: Buffer): void {
    const room = MEMORY_SINK_LIMIT_BYTES - this.#memoryBytes;
    if (chunk.byteLength > room) this.#truncated = true;
    if (room <= 0) return;
    const piece = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
    // Copied: undici may reuse the chunk's memory after the callback.
    this.#memory.push(Buffer.from(piece));
    this.#memoryBytes += piece.byteLength;
  }

  bytes(): Buffer {
    return Buffer.concat(this.#memory);
  }
}
