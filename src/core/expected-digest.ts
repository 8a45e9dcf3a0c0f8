import { TransferError } from './errors.ts';

/**
 * The form of DownloadOperation.expectedContentDigest: one RFC 9530 digest, `sha-256=:<base64>:` or
 * `sha-512=:<base64>:`, with the base64 of exactly one hash (32 or 64 bytes). Apart from the schema so
 * that the app side checks it without loading zod.
 */
export const EXPECTED_DIGEST_PATTERN = /^(?:sha-256=:[A-Za-z0-9+/]{43}=|sha-512=:[A-Za-z0-9+/]{86}==):$/;

/** The digest as stored (algorithm in lower case), or BT_ERR_INVALID_ARGUMENT saying what form is wanted. */
export function checkExpectedDigest(value: unknown): string {
  if (typeof value === 'string') {
    const normalized = value.trim().replace(/^[A-Za-z0-9-]+(?==)/, (name) => name.toLowerCase());
    if (EXPECTED_DIGEST_PATTERN.test(normalized)) return normalized;
  }
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 120)) : String(value);
  throw new TransferError(
    'BT_ERR_INVALID_ARGUMENT',
    `expectedContentDigest must be 'sha-256=:<base64 of 32 bytes>:' or 'sha-512=:<base64 of 64 bytes>:' (RFC 9530); got ${shown}`,
  );
}
