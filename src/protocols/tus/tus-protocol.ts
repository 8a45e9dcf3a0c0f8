import { TransferError } from '../../core/errors.ts';
import { CLIENT_OWNED_HEADERS, type HeaderList, withoutHeaders } from '../http/header-pairs.ts';

/**
 * tus 1.0.0 constants and header helpers (tus.io/protocols/resumable-upload, "Core Protocol" and the
 * creation / termination extensions).
 */
export const TUS_VERSION = '1.0.0';

/** PATCH bodies: "Content-Type: application/offset+octet-stream" (spec § PATCH). */
export const TUS_PATCH_CONTENT_TYPE = 'application/offset+octet-stream';

/**
 * Headers the protocol sets itself: an app value would corrupt the exchange (e.g. its own
 * Content-Type on a PATCH, which the spec requires to be application/offset+octet-stream).
 */
const TUS_OWNED_HEADERS: ReadonlySet<string> = new Set([
  ...CLIENT_OWNED_HEADERS,
  'content-type',
  'tus-resumable',
  'upload-offset',
  'upload-length',
  'upload-defer-length',
  'upload-metadata',
  'upload-concat',
  'upload-checksum',
  'x-http-method-override',
]);

/** The app's headers without protocol-owned ones (OPTIONS: spec says no Tus-Resumable there). */
export function appHeaders(headers: HeaderList): HeaderList {
  return withoutHeaders(headers, TUS_OWNED_HEADERS);
}

/** "The Tus-Resumable header MUST be included in every request and response except for OPTIONS requests." */
export function tusHeaders(headers: HeaderList): HeaderList {
  return [...appHeaders(headers), ['Tus-Resumable', TUS_VERSION]];
}

/**
 * Upload-Metadata (creation extension): comma-separated `key base64(value)` pairs; "The key MUST NOT
 * contain spaces and commas and MUST NOT be empty", and must be unique. Returns null for no metadata.
 */
export function encodeMetadata(metadata: Readonly<Record<string, string>>): string | null {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    // ASCII printable without space and comma: the key travels unencoded in a header value.
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(key)) {
      throw new TransferError(
        'BT_ERR_INVALID_ARGUMENT',
        `tus metadata key is empty or has a space, comma or non-ASCII character: ${JSON.stringify(key)}`,
      );
    }
    pairs.push(value === '' ? key : `${key} ${Buffer.from(value, 'utf8').toString('base64')}`);
  }
  return pairs.length === 0 ? null : pairs.join(',');
}

/** `Tus-Version` is a comma-separated list of versions the server supports, preferred first. */
export function supportsTus1(tusVersion: string | undefined): boolean {
  if (tusVersion === undefined) return false;
  return tusVersion.split(',').some((version) => version.trim() === TUS_VERSION);
}
