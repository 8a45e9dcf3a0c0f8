/**
 * How a resumable protocol splits its body after a request was answered 413 (Content Too Large) by a
 * limit on one request's size, most often a proxy's (nginx allows 1 MiB by default), not by the
 * target. The draft says so after -11 ("it SHOULD retry the request with a smaller size residing
 * between min-append-size and max-append-size"); tus says nothing of a PATCH's 413, and a tus PATCH can
 * be of any size, so the same rule serves both (docs/protocols.md, "413: smaller requests").
 */

/** Below this a request that still gets 413 is not split further: the limit is not about size. */
export const SMALLEST_SPLIT_BYTES = 16 * 1024;

/**
 * The largest request body to try after one carrying `refused` bytes got 413: the largest power of two
 * below it (configured body limits are round numbers: 1m, 8m, 64k), or `max` when smaller. Undefined
 * when nothing smaller may be tried: below `min` or below SMALLEST_SPLIT_BYTES.
 */
export function smallerBody(refused: number, max?: number, min?: number): number | undefined {
  let next = 2 ** Math.floor(Math.log2(Math.max(1, refused - 1)));
  if (max !== undefined && max > 0) next = Math.min(next, max);
  if (next >= refused || next < SMALLEST_SPLIT_BYTES) return undefined;
  if (min !== undefined && next < min) return undefined;
  return next;
}
