import { CLIENT_OWNED_HEADERS, findHeader, type HeaderList, withoutHeaders } from '../http/header-pairs.ts';
import { parseOffset } from '../http/resumable-step.ts';

/**
 * draft-ietf-httpbis-resumable-upload-05 ("Resumable Uploads for HTTP"): constants and header helpers.
 * The draft's §"Draft Version Identification" asks clients of an unfinished draft to send
 * `Upload-Draft-Interop-Version`; -04 and -05 use 6 (tusd: 3 = -01, 4 = -02, 5 = -03, 6 = -04/-05).
 */
export const INTEROP_VERSION = '6';

/** Interop versions whose 104 + Location we accept (tusd speaks 3–6; 7 is the next draft's). */
const ACCEPTED_INTEROP_VERSIONS: ReadonlySet<string> = new Set(['3', '4', '5', '6', '7']);

/** §"Upload Append": the append's media type (-05; tus-js-client's `ietf-draft-05` sends it too). */
export const PARTIAL_UPLOAD_CONTENT_TYPE = 'application/partial-upload';

/** 104 (Upload Resumption Supported), §"Upload Creation". */
export const UPLOAD_RESUMPTION_SUPPORTED = 104;

/** Headers the protocol sets itself on every request. */
const DRAFT_OWNED_HEADERS: ReadonlySet<string> = new Set([
  ...CLIENT_OWNED_HEADERS,
  'upload-draft-interop-version',
  'upload-complete',
  'upload-incomplete',
  'upload-offset',
  'upload-length',
]);

/** Plus the content headers of the app's request, which do not describe an append (PATCH) or a HEAD. */
const RESOURCE_OWNED_HEADERS: ReadonlySet<string> = new Set([
  ...DRAFT_OWNED_HEADERS,
  'content-type',
  'content-encoding',
  'content-disposition',
  'content-range',
  'digest',
  'content-digest',
  'repr-digest',
]);

/** The app's request, marked as a resumable upload creation that completes in this request. */
export function creationHeaders(headers: HeaderList): HeaderList {
  return [
    ...withoutHeaders(headers, DRAFT_OWNED_HEADERS),
    ['Upload-Draft-Interop-Version', INTEROP_VERSION],
    ['Upload-Complete', '?1'],
  ];
}

/** Headers for requests to the upload resource (HEAD, PATCH, DELETE): the app's credentials and the version. */
export function resourceHeaders(headers: HeaderList): HeaderList {
  return [...withoutHeaders(headers, RESOURCE_OWNED_HEADERS), ['Upload-Draft-Interop-Version', INTEROP_VERSION]];
}

/**
 * Whether a 1xx names a draft server we understand: no version header, or one of 3–7. (A server
 * running an unknown version may mean something else by the same fields.)
 */
export function isAcceptedInterim(headers: HeaderList): boolean {
  const version = findHeader(headers, 'upload-draft-interop-version');
  return version === undefined || ACCEPTED_INTEROP_VERSIONS.has(version.trim());
}

/** An RFC 8941 sf-boolean (`?1` / `?0`, parameters ignored); undefined when absent or malformed. */
export function parseBoolean(value: string | undefined): boolean | undefined {
  const item = value?.split(';')[0]?.trim();
  if (item === '?1') return true;
  if (item === '?0') return false;
  return undefined;
}

/**
 * Whether the server reports the upload complete: `Upload-Complete: ?1` (interop 4+), or for
 * interop 3 (-01) the inverted `Upload-Incomplete: ?0`.
 */
export function reportsComplete(headers: HeaderList): boolean {
  const complete = parseBoolean(findHeader(headers, 'upload-complete'));
  if (complete !== undefined) return complete;
  return parseBoolean(findHeader(headers, 'upload-incomplete')) === false;
}

/** `Upload-Offset` (sf-integer). */
export function uploadOffset(headers: HeaderList): number | undefined {
  return parseOffset(findHeader(headers, 'upload-offset'));
}
