/**
 * Gives memory back once the host has nothing to do. V8 sizes its heap for the last burst of work: after
 * thousands of small uploads the old generation keeps tens of MiB of pages that are mostly free. V8's
 * memory reducer would compact them and give them back, but it is started only by a full collection,
 * and a quiet host allocates too little to cause one, so the heap stayed at its largest. So when the host
 * has been quiet (no upload or download queued, running or waiting, no completion task) for `quietMs`,
 * one full collection runs; the memory reducer then follows with its own shrinking collections (V8
 * starts them 8 s later: `--gc-memory-reducer-start-delay-ms`). Once per quiet period: the next comes
 * only after the host was busy again. docs/performance.md ("Host and library weight") has the measurements.
 */
export interface QuietShrinkOptions {
  /** True when the host has nothing to do. */
  isQuiet(): boolean;
  /** One full collection (V8's `gc`, core/exposed-gc.ts). */
  collect(): void;
  /** How long the host must have been quiet. @default QUIET_MS */
  quietMs?: number;
}

export const QUIET_MS = 1_000;

/** Starts watching; returns the function that stops it. */
export function watchQuietShrink(options: QuietShrinkOptions): () => void {
  const quietMs = options.quietMs ?? QUIET_MS;
  // How often quiet is checked: a fraction of the quiet time while it counts, so a short setting (tests)
  // stays accurate; once collected only every `quietMs`, to notice work again without waking an idle
  // host more than once a second (a burst shorter than that may go without its collection).
  const checkMs = Math.max(10, Math.floor(quietMs / 4));
  let quietSince: number | undefined;
  // Collected in this quiet period: nothing more until the host was busy again.
  let done = false;
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
    } else if (!done) {
      quietSince ??= performance.now();
      if (performance.now() - quietSince >= quietMs) {
        done = true;
        options.collect();
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
