import type { TransferError } from '../core/errors.ts';

/**
 * Whether a failed attempt is tried again, and when: a pure function of the error, the attempt count
 * and the policy, unit-tested as a table.
 *
 * R49: "BT retries an upload up to three times" — `maxAttempts` (default 3) counts attempts in all.
 * Retried: network errors (TransferError.retryable) and the statuses a server uses for "try later":
 * 408, 423, 429, 500, 502, 503, 504. Not retried: every other 4xx/5xx, certificate and input errors.
 */
export interface RetryPolicy {
  maxAttempts: number;
  retryBaseDelayMs: number;
  /** Upper bound of one delay. */
  maxDelayMs: number;
}

export type RetryDecision = { kind: 'retry'; delayMs: number } | { kind: 'fail' };

// 423: a resumable-upload server answers Locked while it still holds the previous request for the same upload.
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 423, 429, 500, 502, 503, 504]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/**
 * @param attemptsMade attempts made so far, including the one that just failed
 * @param retryAfterMs a server-dictated wait (Retry-After), if any
 * @param random a number in [0, 1) for jitter (injected for tests)
 */
export function decideRetry(
  error: TransferError,
  attemptsMade: number,
  policy: RetryPolicy,
  retryAfterMs: number | undefined,
  random: number,
): RetryDecision {
  const retryable = error.httpStatus === undefined ? error.retryable : isRetryableStatus(error.httpStatus);
  if (!retryable || attemptsMade >= policy.maxAttempts) return { kind: 'fail' };
  if (retryAfterMs !== undefined) return { kind: 'retry', delayMs: Math.min(retryAfterMs, policy.maxDelayMs) };
  // Exponential back-off with "equal jitter": half fixed, half random, so clients that failed together
  // do not come back together.
  const exponential = Math.min(policy.retryBaseDelayMs * 2 ** (attemptsMade - 1), policy.maxDelayMs);
  return { kind: 'retry', delayMs: Math.round(exponential / 2 + (exponential / 2) * random) };
}

/** Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3), relative to `nowMs`; undefined if absent or bad. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
