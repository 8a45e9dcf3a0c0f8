/**
 * Gives memory back once the host has nothing to do. V8 sizes its heap for the last burst of work: after
 * thousands of small uploads the old generation keeps tens of MiB of pages that are mostly free, and the
 * young generation stays at its largest, because V8 shrinks either only from a collection, and an idle
 * host allocates too little to cause one. So when the host has been quiet (no upload queued, running or
 * waiting, no completion task) for `quietMs`, a few full collections run, `spacingMs` apart: spaced, so
 * V8 sees an allocation rate near zero and shrinks the young generation and compacts and releases
 * fragmented old pages. Once per quiet period: the next one starts only after the host was busy again.
 * docs/performance.md ("Host and library weight") has the measurements.
 */
export interface QuietShrinkOptions {
  /** True when the host has nothing to do. */
  isQuiet(): boolean;
  /** One full collection (V8's `gc`, core/exposed-gc.ts). */
  collect(): void;
  /** How long the host must have been quiet. @default QUIET_MS */
  quietMs?: number;
  /** Collections per quiet period. @default SHRINK_COLLECTIONS */
  collections?: number;
  /** Time between them. @default SPACING_MS */
  spacingMs?: number;
}

export const QUIET_MS = 1_000;
export const SHRINK_COLLECTIONS = 6;
export const SPACING_MS = 200;

/** Starts watching; returns the function that stops it. */
export function watchQuietShrink(options: QuietShrinkOptions): () => void {
  const quietMs = options.quietMs ?? QUIET_MS;
  const collections = options.collections ?? SHRINK_COLLECTIONS;
  const spacingMs = options.spacingMs ?? SPACING_MS;
  // How often quiet is checked: a fraction of the quiet time while it counts, so a short setting (tests)
  // stays accurate; once shrunk only every `quietMs`, to notice work again without waking an idle host
  // more than once a second (a burst shorter than that may go without its shrink).
  const checkMs = Math.max(10, Math.floor(quietMs / 4));
  let quietSince: number | undefined;
  // Shrunk in this quiet period (or shrinking): nothing more until the host was busy again.
  let done = false;
  let left = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number): void => {
    timer = setTimeout(tick, ms);
    // The host's socket server keeps it alive; this timer must not.
    timer.unref();
  };
  const tick = (): void => {
    if (stopped) return;
    if (!options.isQuiet()) {
      quietSince = undefined;
      done = false;
      left = 0;
      arm(checkMs);
      return;
    }
    if (left > 0) {
      options.collect();
      left--;
      arm(left > 0 ? spacingMs : quietMs);
      return;
    }
    if (!done) {
      quietSince ??= performance.now();
      if (performance.now() - quietSince >= quietMs) {
        done = true;
        left = collections;
        arm(0);
        return;
      }
    }
    arm(done ? quietMs : checkMs);
  };
  arm(checkMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
