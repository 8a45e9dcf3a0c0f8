import { findHeader, type HeaderPairs } from '../http/header-pairs.ts';

/**
 * Expiration extension: "The Upload-Expires response header indicates the time after which the
 * unfinished upload expires", an RFC 9110 HTTP-date (e.g. `Wed, 25 Jun 2014 16:00:00 GMT`), sent on
 * the creation's answer and on PATCH answers. Returns ms since the epoch, or undefined when absent
 * or not a date (a header we cannot read is no reason to fail an upload).
 */
export function uploadExpires(headers: HeaderPairs): number | undefined {
  const value = findHeader(headers, 'upload-expires');
  if (value === undefined) return undefined;
  const ms = Date.parse(value.trim());
  return Number.isFinite(ms) ? ms : undefined;
}

/** Remembers the latest expiry an answer names, telling `onChange` only when it moved (one store write). */
export class ExpiryTracker {
  #known: number | null;
  readonly #onChange: (expiresAtMs: number) => void;

  constructor(known: number | null | undefined, onChange: (expiresAtMs: number) => void) {
    this.#known = known ?? null;
    this.#onChange = onChange;
  }

  see(headers: HeaderPairs): void {
    const expires = uploadExpires(headers);
    if (expires === undefined || expires === this.#known) return;
    this.#known = expires;
    this.#onChange(expires);
  }
}

/** Whether a stored expiry has passed: the upload is gone (or about to be), so it is not touched. */
export function hasExpired(expiresAtMs: number | null | undefined, now = Date.now()): boolean {
  return expiresAtMs !== undefined && expiresAtMs !== null && expiresAtMs <= now;
}
