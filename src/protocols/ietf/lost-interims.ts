/**
 * What the host has seen lately of the 104s on the way to an endpoint (docs/interop.md, "A draft server
 * behind nginx"). Kept in the process only (the host's memory): it describes the path to the server at
 * this time, which a proxy's configuration can change.
 *
 * - *Lost*: the target speaks the draft, yet its 104 did not reach us (a proxy in front of it drops
 *   them, or holds the whole request). A large upload there would wait for a 104 in vain each time;
 *   for a while the next ones go straight to OPTIONS and careful creation.
 * - *Unanswered*: a creation sent at once (under "auto") got no answer at all after its whole body, as
 *   when a proxy hangs on a 104 that comes while it still writes the body. The next large creation
 *   there waits for the 104 (holding its body back), which finds out whether it is lost.
 */

/** How long a lost 104 is believed. */
export const LOST_INTERIMS_FOR_MS = 10 * 60_000;
/** A bound on the entries, so endpoints that each appear once cannot grow the map without end. */
const MAX_ENDPOINTS = 1024;

const lostUntil = new Map<string, number>();
const unansweredUntil = new Map<string, number>();

/** `scheme://host:port/path`: no userinfo, query or fragment (they hold secrets and differ per upload). */
function endpointKey(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function isMarked(marks: Map<string, number>, url: URL, now: number): boolean {
  const key = endpointKey(url);
  const until = marks.get(key);
  if (until === undefined) return false;
  if (until > now) return true;
  marks.delete(key);
  return false;
}

function mark(marks: Map<string, number>, url: URL, now: number): void {
  const key = endpointKey(url);
  marks.delete(key);
  if (marks.size >= MAX_ENDPOINTS) {
    // Maps iterate in insertion order: the oldest mark goes first.
    const oldest = marks.keys().next().value;
    if (oldest !== undefined) marks.delete(oldest);
  }
  marks.set(key, now + LOST_INTERIMS_FOR_MS);
}

/** Whether a large upload to `url` should not wait for a 104. */
export function interimsLost(url: URL, now = Date.now()): boolean {
  return isMarked(lostUntil, url, now);
}

/** The target speaks the draft and its 104 did not come: remember it for LOST_INTERIMS_FOR_MS. */
export function markInterimsLost(url: URL, now = Date.now()): void {
  mark(lostUntil, url, now);
  unansweredUntil.delete(endpointKey(url));
}

/** The endpoint does not speak the draft (any more): forget both marks. */
export function forgetLostInterims(url: URL): void {
  const key = endpointKey(url);
  lostUntil.delete(key);
  unansweredUntil.delete(key);
}

/** Whether a large creation to `url` should wait for the 104 although it would not otherwise. */
export function creationsUnanswered(url: URL, now = Date.now()): boolean {
  return isMarked(unansweredUntil, url, now) || isMarked(lostUntil, url, now);
}

/** A creation sent at once got no answer at all after its whole body: remember it for LOST_INTERIMS_FOR_MS. */
export function markCreationUnanswered(url: URL, now = Date.now()): void {
  mark(unansweredUntil, url, now);
}
