/**
 * Upload rate over a sliding window of samples, for the progress bar's rate and ETA. A window (rather
 * than bytes / elapsed) follows a throttled or recovering link within seconds.
 */
export class RateMeter {
  readonly #windowMs: number;
  #samples: Array<{ atMs: number; bytes: number }> = [];

  constructor(windowMs = 4_000) {
    this.#windowMs = windowMs;
  }

  /** Records the byte counter; a counter that went down (a restart from byte 0, R38) starts over. */
  sample(bytes: number, atMs: number): void {
    const last = this.#samples.at(-1);
    if (last && bytes < last.bytes) this.#samples = [];
    this.#samples.push({ atMs, bytes });
    while (this.#samples.length > 2 && atMs - this.#samples[0]!.atMs > this.#windowMs) this.#samples.shift();
  }

  /** Bytes per second, or null until two samples at least 250 ms apart exist. */
  bytesPerSecond(): number | null {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last.atMs - first.atMs < 250) return null;
    return ((last.bytes - first.bytes) * 1000) / (last.atMs - first.atMs);
  }

  /** Seconds until `total` at the current rate, or null when unknown. */
  etaSeconds(bytes: number, total: number): number | null {
    const rate = this.bytesPerSecond();
    if (rate === null || rate <= 0 || total <= 0) return null;
    return Math.max(0, total - bytes) / rate;
  }
}
