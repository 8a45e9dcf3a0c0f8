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

  /** Stops the timer and takes a final checkpoint; returns the durable size (throws on an fsync error). */
  async finish(): Promise<number> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
    return this.#take();
  }

  async #take(): Promise<number> {
    this.#busy = true;
    try {
      const size = await syncedSize(this.#options.partialPath);
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
