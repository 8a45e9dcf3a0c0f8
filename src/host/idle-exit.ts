/**
 * Ends an idle host: one with no client connected and nothing to do (no upload queued, running or
 * waiting for the network or a retry, no completion task running) for `idleMs` — read on every check,
 * so a config reload applies. 0 means never. Apps start a host again on demand (ipc/host-launcher.ts).
 */
export interface IdleExitOptions {
  /** True when the host could stop now without leaving anything undone. */
  isIdle(): boolean;
  /** config `hostIdleExitMs`; 0 = never. */
  idleMs(): number;
  onIdle(): void;
}

/** How often idleness is checked, at most (a fraction of the idle time, so short settings stay accurate). */
const MAX_CHECK_INTERVAL_MS = 5_000;
const MIN_CHECK_INTERVAL_MS = 100;

/** Starts watching; returns the function that stops it. */
export function watchIdle(options: IdleExitOptions): () => void {
  let idleSinceMs: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (): void => {
    const idleMs = options.idleMs();
    const interval =
      idleMs > 0 ? Math.min(MAX_CHECK_INTERVAL_MS, Math.max(MIN_CHECK_INTERVAL_MS, idleMs / 4)) : MAX_CHECK_INTERVAL_MS;
    timer = setTimeout(check, interval);
    // The host's socket server keeps it alive; this timer must not.
    timer.unref();
  };
  const check = (): void => {
    if (stopped) return;
    const idleMs = options.idleMs();
    if (idleMs === 0 || !options.isIdle()) {
      idleSinceMs = undefined;
    } else {
      idleSinceMs ??= performance.now();
      if (performance.now() - idleSinceMs >= idleMs) {
        stopped = true;
        options.onIdle();
        return;
      }
    }
    schedule();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
