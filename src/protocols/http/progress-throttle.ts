/** Progress callbacks fire at most this often, plus one exact call at the end. */
export const PROGRESS_INTERVAL_MS = 50;

/**
 * Calls `emit` at most every PROGRESS_INTERVAL_MS. A value held back is emitted when the interval
 * ends, so a stalled transfer still reports where it stopped; `flush` reports the exact final value.
 */
export class ProgressThrottle {
  readonly #emit: (value: number) => void;
  #lastAt = Number.NEGATIVE_INFINITY;
  #lastValue = -1;
  #latest = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(emit: (value: number) => void) {
    this.#emit = emit;
  }

  update(value: number): void {
    if (this.#closed) return;
    this.#latest = value;
    const wait = this.#lastAt + PROGRESS_INTERVAL_MS - performance.now();
    if (wait <= 0) this.#report();
    else this.#timer ??= setTimeout(() => this.#report(), wait);
  }

  flush(value: number): void {
    if (this.#closed) return;
    this.#latest = value;
    this.#report();
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Nothing is reported after this. A request body that undici goes on pulling after the request was
   * answered (an early 401 whose request is then sent again) must not report its count over the
   * progress of the request that replaced it.
   */
  close(): void {
    this.cancel();
    this.#closed = true;
  }

  #report(): void {
    this.cancel();
    this.#lastAt = performance.now();
    if (this.#latest === this.#lastValue) return;
    this.#lastValue = this.#latest;
    this.#emit(this.#latest);
  }
}
