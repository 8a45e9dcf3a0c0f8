/**
 * draft-ietf-httpbis-resumable-upload ("Resumable Uploads for HTTP"): versions, constants and header
 * helpers. §"Draft Version Identification": a client sends `Upload-Draft-Interop-Version` and MUST
 * ignore a 104 whose version is missing or differs from the one it sent. Interop 6 is drafts -04/-05
 * (what tusd, Apple's URLSession and SwiftNIO speak), 8 is drafts -09 to -11 (and the working copy
 * after -11, which still names 8). Versions 7 (-06 to -08) and anything newer are not offered: 7 is
 * superseded by 8, and no newer number is published in the draft text (docs/protocols.md).
 */
// The versions are app-facing too (BackgroundUploader.ietfInteropVersion), so they live in core.
import type { IetfInteropVersion } from '../../core/ietf-interop.ts';
import { CLIENT_OWNED_HEADERS, findHeader, type HeaderList } from '../http/header-pairs.ts';
import { parseOffset } from '../http/resumable-step.ts';

export {
  DEFAULT_INTEROP_VERSION,
  type IetfInteropVersion,
  isSupportedInteropVersion,
  SUPPORTED_INTEROP_VERSIONS,
} from '../../core/ietf-interop.ts';

/** §"Upload Append": the append's media type (-04 on; tus-js-client's `ietf-draft-05` sends it too). */
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

// Shared, never changed: header lists are read-only once built (HeaderList).
const UPLOAD_COMPLETE: readonly [string, string] = ['Upload-Complete', '?1'];
const UPLOAD_INCOMPLETE: readonly [string, string] = ['Upload-Complete', '?0'];
const VERSION_HEADERS = new Map<IetfInteropVersion, readonly [string, string]>();

/** `Upload-Draft-Interop-Version: <version>`, one pair per version. */
function versionHeader(version: IetfInteropVersion): readonly [string, string] {
  let header = VERSION_HEADERS.get(version);
  if (header === undefined) {
    header = ['Upload-Draft-Interop-Version', String(version)];
    VERSION_HEADERS.set(version, header);
  }
  return header;
}

/** The app's request marked as an upload creation: the whole body (`complete`) or none of it (careful creation). */
export function creationHeaders(
  headers: HeaderList,
  version: IetfInteropVersion,
  length: number,
  complete = true,
): HeaderList {
  // One array, filled in one pass: this runs for every request of an "auto" upload to a plain server.
  const list: Array<readonly [string, string]> = [];
  for (const pair of headers) if (!DRAFT_OWNED_HEADERS.has(pair[0].toLowerCase())) list.push(pair);
  list.push(
    versionHeader(version),
    complete ? UPLOAD_COMPLETE : UPLOAD_INCOMPLETE,
    // -05 on: "the client SHOULD indicate the length", so a server can refuse early (Upload-Limit).
    ['Upload-Length', String(length)],
  );
  return list;
}

/** Headers for requests to the upload resource (HEAD, PATCH, DELETE): the app's credentials and the version. */
export function resourceHeaders(headers: HeaderList, version: IetfInteropVersion): HeaderList {
  return [
    ...headers.filter(([name]) => !RESOURCE_OWNED_HEADERS.has(name.toLowerCase())),
    ['Upload-Draft-Interop-Version', String(version)],
  ];
}

/** Whether a response says it speaks exactly `version` (a 104 of any other version is ignored). */
export function speaksVersion(headers: HeaderList, version: IetfInteropVersion): boolean {
  return findHeader(headers, 'upload-draft-interop-version')?.trim() === String(version);
}

/** An RFC 8941 sf-boolean (`?1` / `?0`, parameters ignored); undefined when absent or malformed. */
export function parseBoolean(value: string | undefined): boolean | undefined {
  const item = value?.split(';')[0]?.trim();
  if (item === '?1') return true;
  if (item === '?0') return false;
  return undefined;
}

/** Whether the server reports the upload complete: `Upload-Complete: ?1`. */
export function reportsComplete(headers: HeaderList): boolean {
  return parseBoolean(findHeader(headers, 'upload-complete')) === true;
}

/** `Upload-Offset` (sf-integer); undefined when absent or malformed. */
export function uploadOffset(headers: HeaderList): number | undefined {
  return parseOffset(findHeader(headers, 'upload-offset'));
}
