import { TransferError } from '../errors.ts';
import { nodeCrypto } from '../lazy-builtins.ts';

/**
 * Multipart boundaries and subtypes (R69, R70): the `boundary` and `subType` arguments of
 * `createUploadAsync(uri, parts, subType?, boundary?)`, checked before anything is queued.
 */

/**
 * RFC 2046 §5.1.1: `boundary := 0*69<bchars> bcharsnospace`, where bchars are digits, letters,
 * `'()+_,-./:=?` and space. At least one character (an empty delimiter would be just `--`).
 */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/** RFC 9110 §5.6.2 token, as a media subtype must be (RFC 9110 §8.3.1). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** 18 random bytes → 24 base64url characters (digits, letters, `-`, `_`: all RFC 2046 bchars). */
const RANDOM_BYTES = 18;

/**
 * A fresh boundary for R69's "automatically generated boundary": a fixed prefix plus 144 random bits,
 * so it cannot plausibly occur inside a part's content. Only token characters, so the Content-Type
 * parameter needs no quoting.
 */
export function generateBoundary(): string {
  return `----bgtransfer-${nodeCrypto().randomBytes(RANDOM_BYTES).toString('base64url')}`;
}

/** R70: an app-supplied boundary; 1–70 RFC 2046 bchars, not ending with a space, else BT_ERR_INVALID_ARGUMENT. */
export function validateBoundary(boundary: unknown): string {
  if (typeof boundary !== 'string' || !BOUNDARY.test(boundary)) {
    throw new TransferError(
      'BT_ERR_INVALID_ARGUMENT',
      `invalid multipart boundary ${JSON.stringify(boundary)}: 1–70 characters from [0-9A-Za-z'()+_,-./:=? ], ` +
        'not ending with a space (RFC 2046 §5.1.1)',
    );
  }
  return boundary;
}

/** R70: the subtype of `multipart/<subType>` (e.g. "related"); an RFC 9110 token, else BT_ERR_INVALID_ARGUMENT. */
export function validateSubType(subType: unknown): string {
  if (typeof subType !== 'string' || !TOKEN.test(subType)) {
    throw new TransferError(
      'BT_ERR_INVALID_ARGUMENT',
      `invalid multipart subtype ${JSON.stringify(subType)}: must be an HTTP token such as "form-data" or "related"`,
    );
  }
  return subType;
}

/**
 * The request's Content-Type (R72): `multipart/<subType>; boundary=<b>`. A boundary with characters that
 * are not token characters (space, `(),/:=?`) is sent as a quoted string (RFC 2046 §5.1.1, RFC 9110 §5.6.6).
 */
export function multipartContentType(subType: string, boundary: string): string {
  const parameter = TOKEN.test(boundary) ? boundary : `"${boundary}"`;
  return `multipart/${subType}; boundary=${parameter}`;
}
