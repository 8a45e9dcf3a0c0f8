/**
 * How every client of the transfer host — the library's socket port and the CLI — tries again after
 * losing it: the first retry soon (a killed host is usually replaced within a fraction of a second),
 * then doubling, capped so a host that comes back is found within a few seconds. The CLI gives up
 * after `giveUpAfterMs` (exit 3); the library keeps trying for as long as an app watches an upload.
 */
export const RECONNECT_POLICY = Object.freeze({
  firstDelayMs: 100,
  maxDelayMs: 5_000,
  giveUpAfterMs: 30_000,
});

/** The wait before retry number `attempt` (0 for the first retry). */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(RECONNECT_POLICY.firstDelayMs * 2 ** Math.min(attempt, 30), RECONNECT_POLICY.maxDelayMs);
}
