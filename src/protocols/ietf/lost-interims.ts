/**
 * Endpoints whose 104s do not reach us although the target speaks the draft: a proxy in front of it
 * drops them, or holds the whole request (docs/interop.md, "A draft server behind nginx"). A large
 * upload there would wait for a 104 in vain each time; for a while after one found this out, the next
 * ones go straight to OPTIONS and careful creation. Kept in the process only (the host's memory): it
 * describes the path to the server at this time, which a proxy's configuration can change.
 */

/** How long a lost 104 is believed. */
export const LOST_INTERIMS_FOR_MS = 10 * 60_000;
/** A bound on the entries, so endpoints that each appear once cannot grow the map without end. */
const MAX_ENDPOINTS = 1024;

const lostUntil = new Map<string, number>();

/** `scheme://host:port/path`: no userinfo, query or fragment (they hold secrets and differ per upload). */
function endpointKey(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Whether a large upload to `url` should not wait for a 104. */
export function interimsLost(url: URL, now = Date.now()): boolean {
  const key = endpointKey(url);
  const until = lostUntil.get(key);
  if (until === undefined) return false;
  if (until > now) return true;
  lostUntil.delete(key);
  return false;
}

/** The target speaks the draft and its 104 did not come: remember it for LOST_INTERIMS_FOR_MS. */
export function markInterimsLost(url: URL, now = Date.now()): void {
  const key = endpointKey(url);
  lostUntil.delete(key);
  if (lostUntil.size >= MAX_ENDPOINTS) {
    // Maps iterate in insertion order: the oldest mark goes first.
    const oldest = lostUntil.keys().next().value;
    if (oldest !== undefined) lostUntil.delete(oldest);
  }
  lostUntil.set(key, now + LOST_INTERIMS_FOR_MS);
}

/** A 104 did come (or the endpoint stopped speaking the draft): forget the mark. */
export function forgetLostInterims(url: URL): void {
  lostUntil.delete(endpointKey(url));
}
