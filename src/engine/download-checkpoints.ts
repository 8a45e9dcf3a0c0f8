import { TransferError } from '../core/errors.ts';
import { syncedSize } from './download-partial.ts';

/** How often a running download fsyncs its partial file and records the size (its resume point). */
export const CHECKPOINT_INTERVAL_MS = 500;

export interface CheckpointOptions {
  partialPath: string;
  /** The fsynced size, to store and publish: progress never counts bytes that could still be lost. */
  onDurable(size: number): void;
  /** No new byte reached the file this long → `onStall` (0 = off). */
  stallTimeoutMs: number;
  onStall(error: TransferError): void;
  describe(): string;
}

/**
 * The checkpoints of one download request: every CHECKPOINT_INTERVAL_MS the partial file is fsynced and
 * its size reported. Runs one fsync at a time; `finish` waits for it and takes a last one.
 */
export class Checkpoints {
  readonly #options: CheckpointOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #busy = false;
  #lastSize = -1;
  #lastGrowthMs = performance.now();
  /** Bumped by `finish`: a checkpoint begun before it reports nothing (the final one knows more). */
  #generation = 0;

  constructor(options: CheckpointOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#timer) return;
    this.#lastGrowthMs = performance.now();
    this.#timer = setInterval(() => {
      if (this.#busy) return;
      this.#running = this.#take().then(
        () => undefined,
        () => undefined,
      );
    }, CHECKPOINT_INTERVAL_MS);
    this.#timer.unref();
  }

  /**
   * Stops the timer and takes a final checkpoint; returns the durable size (throws on an fsync error).
   * The final fsync starts at once, beside a checkpoint still under way rather than after it: that one
   * may have begun before the last writes, and waiting for it first left the disk idle for the bytes
   * written since (it was most of the time from the last byte to completion).
   */
  async finish(): Promise<number> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#generation += 1;
    const running = this.#running;
    try {
      return await this.#take();
    } finally {
      await running;
    }
  }

  async #take(): Promise<number> {
    this.#busy = true;
    const generation = this.#generation;
    try {
      const size = await syncedSize(this.#options.partialPath);
      // A checkpoint overtaken by `finish` may end after it: its smaller size must not be reported last.
      if (generation !== this.#generation) return size;
      this.#options.onDurable(size);
      const now = performance.now();
      if (size !== this.#lastSize) {
        this.#lastSize = size;
        this.#lastGrowthMs = now;
      } else if (this.#timer && this.#options.stallTimeoutMs > 0) {
        const silentMs = Math.round(now - this.#lastGrowthMs);
        if (silentMs >= this.#options.stallTimeoutMs) {
          this.#options.onStall(
            new TransferError(
              'BT_ERR_STALLED',
              `${this.#options.describe()}: no byte of the body arrived for ${silentMs} ms (stallTimeoutMs ${this.#options.stallTimeoutMs}) after ${size} bytes`,
            ),
          );
        }
      }
      return size;
    } finally {
      this.#busy = false;
    }
  }
}
