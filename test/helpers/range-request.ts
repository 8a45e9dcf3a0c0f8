/**
 * The pure parts of a range-serving test server (RFC 9110 §14 and §13.1.5), written from the RFC
 * rather than from bgtransfer's client code, so that the download tests check the client against an
 * independent reading: which byte range a `Range` header asks for, whether `If-Range` still matches
 * the representation, and how a `Content-Range` is written.
 */

/** An inclusive byte range, as in `Content-Range: bytes first-last/size`. */
export interface ByteRange {
  first: number;
  last: number;
}

/**
 * What a server answers to a `Range` header for a representation of `size` bytes:
 * - `{ kind: 'none' }`: serve the whole representation with 200 (no header, another unit, a header
 *   this server does not parse, or several ranges, which RFC 9110 allows a server to ignore);
 * - `{ kind: 'range', range }`: 206 with that range (`last` clipped to the end);
 * - `{ kind: 'unsatisfiable' }`: 416 with `Content-Range: bytes *\/size`.
 */
export type RangeAnswer = { kind: 'none' } | { kind: 'range'; range: ByteRange } | { kind: 'unsatisfiable' };

const DIGITS = /^\d+$/;

export function answerRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'none' };
  const equals = header.indexOf('=');
  if (equals < 0) return { kind: 'none' };
  // The unit is case-insensitive (RFC 9110 §14.1); only bytes is served.
  if (header.slice(0, equals).trim().toLowerCase() !== 'bytes') return { kind: 'none' };
  const specs = header.slice(equals + 1).split(',');
  if (specs.length !== 1) return { kind: 'none' };
  const spec = (specs[0] ?? '').trim();
  const dash = spec.indexOf('-');
  if (dash < 0) return { kind: 'none' };
  const firstText = spec.slice(0, dash).trim();
  const lastText = spec.slice(dash + 1).trim();

  if (firstText === '') {
    // A suffix range: the last N bytes; "-0" can never be satisfied.
    if (!DIGITS.test(lastText)) return { kind: 'none' };
    const length = Number(lastText);
    if (length === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', range: { first: Math.max(0, size - length), last: size - 1 } };
  }
  if (!DIGITS.test(firstText) || (lastText !== '' && !DIGITS.test(lastText))) return { kind: 'none' };
  const first = Number(firstText);
  const last = lastText === '' ? size - 1 : Number(lastText);
  // "first > last" is an invalid range-spec, which a server ignores (serves 200) rather than refuses.
  if (lastText !== '' && first > last) return { kind: 'none' };
  if (first >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', range: { first, last: Math.min(last, size - 1) } };
}

/** The current validators of a representation, as the server sends them. */
export interface Validators {
  /** The ETag header value, e.g. `"v1-10-5f"` (strong) or `W/"v1"` (weak); null when none is sent. */
  etag: string | null;
  /** The Last-Modified header value (an IMF-fixdate); null when none is sent. */
  lastModified: string | null;
}

/**
 * Whether `If-Range` lets the range through (RFC 9110 §13.1.5): an entity tag must match the current
 * ETag by strong comparison (a weak tag on either side never matches); a date must equal the current
 * Last-Modified exactly. Anything else — including a date that does not parse — means "send it all".
 */
export function ifRangeAllowsRange(ifRange: string | undefined, current: Validators): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) {
    if (value.startsWith('W/') || current.etag === null || current.etag.startsWith('W/')) return false;
    return value === current.etag;
  }
  if (current.lastModified === null) return false;
  const asked = Date.parse(value);
  return !Number.isNaN(asked) && asked === Date.parse(current.lastModified);
}

/** `bytes first-last/size` for a 206, or `bytes *\/size` for a 416. */
export function contentRange(range: ByteRange | null, size: number): string {
  return range === null ? `bytes */${size}` : `bytes ${range.first}-${range.last}/${size}`;
}
