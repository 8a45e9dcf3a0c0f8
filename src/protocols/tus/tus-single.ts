import { createHash } from 'node:crypto';
import { TransferError } from '../../core/errors.ts';
import { findHeader, type HeaderPairs } from '../http/header-pairs.ts';
import type { HttpUploadResult } from '../http/http-upload-types.ts';
import { requestMessage } from '../http/request-messages.ts';
import {
  checkedOffset,
  headersForOrigin,
  type OffsetRules,
  parseOffset,
  parseSessionUrl,
  queryUploadOffset,
  resumeLost,
  sendStep,
} from '../http/resumable-step.ts';
import { ServerAuth } from '../http/server-auth.ts';
import { smallerBody } from '../http/smaller-body.ts';
import { createUpload } from './tus-creation.ts';
import { ExpiryTracker, hasExpired } from './tus-expires.ts';
import { TUS_PATCH_CONTENT_TYPE, tusHeaders } from './tus-protocol.ts';
import type { TusUploadInput } from './tus-types.ts';

/** Checksum mismatch (checksum extension): the PATCH's body arrived altered and was not stored. */
const CHECKSUM_MISMATCH = 460;
/** A PATCH too large for one request, most likely for a proxy in front of the server. */
const CONTENT_TOO_LARGE = 413;
/** A chunk altered this many times in a row is not a passing accident: the attempt fails. */
const MAX_CHECKSUM_RETRIES = 3;

/** "the Server SHOULD respond with the 404 Not Found or 410 Gone status" for a removed upload (§ HEAD). */
const GONE_STATUSES: ReadonlySet<number> = new Set([404, 410]);
/** On HEAD, tus-js-client also drops the stored URL on 403 ("4xx on HEAD → drop stored URL"). */
const HEAD_LOST_STATUSES: ReadonlySet<number> = new Set([403, 404, 410]);

/**
 * § HEAD: "The Server MUST always include the Upload-Offset header in the response for a HEAD request";
 * an offset equal to the length means the upload is complete.
 */
function tusOffsetRules(expiry: ExpiryTracker): OffsetRules {
  return {
    lostStatuses: HEAD_LOST_STATUSES,
    reportsComplete(headers, size) {
      const length = parseOffset(findHeader(headers, 'upload-length'));
      return parseOffset(findHeader(headers, 'upload-offset')) === size && (length === undefined || length === size);
    },
    offsetHeader: 'upload-offset',
    onAnswer: (headers) => expiry.see(headers),
  };
}

/**
 * One tus upload resource, start to end: without a session, the creation POST (carrying the first
 * part of the body where the server has creation-with-upload), `onSession(Location)`, then PATCHes;
 * with one, HEAD for the offset (unless its Upload-Expires has passed: BT_ERR_RESUME_LOST without
 * touching it), then PATCHes from there. `input.body` is the resource's whole content (a partial upload
 * of the concatenation extension, `concat: 'partial'`, gets its slice).
 */
export async function uploadOne(input: TusUploadInput, concat?: 'partial'): Promise<HttpUploadResult> {
  input.signal.throwIfAborted();
  const size = input.body.size;
  const headers = tusHeaders(input.headers);
  // One for the attempt: a Digest challenge from the POST or HEAD also answers the PATCHes.
  const auth = ServerAuth.create(input.credentials, input.endpoint);
  let uploadUrl: URL;
  let offset: number;
  let expiry: ExpiryTracker;
  if (input.session === null) {
    let created: URL | null = null;
    expiry = new ExpiryTracker(null, (expiresAtMs) => {
      if (created !== null) input.onSession(created.href, expiresAtMs);
    });
    const creation = await createUpload(input, headers, auth, expiry, concat);
    if ('final' in creation) return creation.final;
    created = creation.url;
    uploadUrl = creation.url;
    // Stored durably by the engine before the first PATCH byte goes out: a crash from here on resumes.
    input.onSession(uploadUrl.href, creation.expiresAtMs ?? null);
    offset = creation.offset;
    input.onOffset(offset);
  } else {
    uploadUrl = parseSessionUrl(input.session.uploadUrl);
    const stored = input.session.expiresAtMs;
    if (hasExpired(stored)) {
      // The server said it drops the unfinished upload then: asking it would only cost a round trip.
      throw resumeLost(uploadUrl, `it expired at ${new Date(stored ?? 0).toISOString()} (Upload-Expires)`);
    }
    expiry = new ExpiryTracker(stored, (expiresAtMs) => input.onSession(uploadUrl.href, expiresAtMs));
    const found = await queryUploadOffset(
      input,
      uploadUrl,
      headersForOrigin(headers, uploadUrl, input.endpoint),
      auth,
      tusOffsetRules(expiry),
    );
    if (typeof found !== 'number') return found;
    offset = found;
  }
  input.onBytesSent(offset);
  const resourceHeaders = headersForOrigin(headers, uploadUrl, input.endpoint);
  let conflicts = 0;
  let mismatches = 0;
  // The largest PATCH body since one was answered 413 (smallerBody); the app's chunkSize bounds it too.
  let cap = input.chunkSizeBytes !== undefined && input.chunkSizeBytes > 0 ? input.chunkSizeBytes : size;
  for (;;) {
    const end = Math.min(size, offset + cap);
    const { response, final } = await sendStep(
      input,
      {
        url: uploadUrl,
        method: 'PATCH',
        headers: [
          ...resourceHeaders,
          ['Content-Type', TUS_PATCH_CONTENT_TYPE],
          ['Upload-Offset', String(offset)],
          ...(input.sha256Checksum ? [['Upload-Checksum', await chunkChecksum(input, offset, end)] as const] : []),
        ],
        body: { source: input.body, start: offset, end },
        isFinal: (status, pairs) => isFinalPatchAnswer(status, pairs, size),
      },
      auth,
    );
    if (final !== null) {
      const acknowledged = parseOffset(findHeader(response.headers, 'upload-offset'));
      if (response.status >= 200 && response.status < 300 && acknowledged !== undefined) input.onOffset(acknowledged);
      return final;
    }
    if (GONE_STATUSES.has(response.status)) throw resumeLost(uploadUrl, `PATCH answered ${response.status}`);
    if (response.status === CHECKSUM_MISMATCH) {
      mismatches += 1;
      if (mismatches > MAX_CHECKSUM_RETRIES) {
        throw new TransferError(
          'BT_ERR_CHECKSUM_MISMATCH',
          requestMessage(
            'PATCH',
            uploadUrl,
            `the server answered 460 (checksum mismatch) ${mismatches} times for bytes ${offset}–${end}`,
          ),
        );
      }
      input.onBytesSent(offset);
      continue;
    }
    if (response.status === CONTENT_TOO_LARGE) {
      // tus gives a PATCH's 413 no meaning: a limit on one request (a proxy's), so the bytes go again in
      // smaller PATCHes; the server stored nothing of a request refused from its head.
      const smaller = smallerBody(end - offset);
      if (smaller === undefined) {
        throw new TransferError(
          'BT_ERR_UPLOAD_LIMIT',
          requestMessage('PATCH', uploadUrl, `the server answered 413 (Content Too Large) to ${end - offset} bytes`),
          { httpStatus: CONTENT_TOO_LARGE },
        );
      }
      cap = smaller;
      input.onBytesSent(offset);
      continue;
    }
    if (response.status === 409) {
      // "If the offsets do not match, the Server MUST respond with the 409 Conflict status" (§ PATCH):
      // our idea of the offset is stale (e.g. the server kept more of a cut request). Ask once more.
      conflicts += 1;
      if (conflicts > 1) {
        throw new TransferError(
          'BT_ERR_OFFSET_MISMATCH',
          requestMessage('PATCH', uploadUrl, `the server answered 409 twice for offset ${offset}`),
        );
      }
      const found = await queryUploadOffset(input, uploadUrl, resourceHeaders, auth, tusOffsetRules(expiry));
      if (typeof found !== 'number') return found;
      offset = found;
      input.onBytesSent(offset);
      continue;
    }
    expiry.see(response.headers);
    offset = nextOffset(response.headers, offset, end, uploadUrl);
    conflicts = 0;
    mismatches = 0;
    input.onOffset(offset);
  }
}

/** The upload's final answer: complete (acknowledged the whole body) or an error the engine judges. */
function isFinalPatchAnswer(status: number, headers: HeaderPairs, size: number): boolean {
  if (status === 409 || status === CHECKSUM_MISMATCH || status === CONTENT_TOO_LARGE || GONE_STATUSES.has(status)) {
    return false;
  }
  if (status < 200 || status >= 300) return true;
  // More than the body is not "complete" but a bad answer (nextOffset refuses it).
  return parseOffset(findHeader(headers, 'upload-offset')) === size;
}

/** Upload-Offset of an intermediate 204 ("MUST include the Upload-Offset header containing the new offset"). */
function nextOffset(headers: HeaderPairs, offset: number, end: number, url: URL): number {
  const acknowledged = checkedOffset(findHeader(headers, 'upload-offset'), offset, end, `PATCH ${url.href}`);
  if (acknowledged === undefined) {
    throw new TransferError(
      'BT_ERR_INVALID_RESPONSE',
      requestMessage('PATCH', url, 'the server accepted it without an Upload-Offset'),
    );
  }
  // No progress would loop forever: let the next attempt ask with HEAD.
  if (acknowledged === offset && end > offset) {
    throw new TransferError(
      'BT_ERR_OFFSET_MISMATCH',
      requestMessage('PATCH', url, `bytes ${offset}–${end} were acknowledged at offset ${acknowledged}`),
    );
  }
  return acknowledged;
}

/** `sha256 <base64>` of the body's bytes [start, end): one read of the chunk before it is sent. */
async function chunkChecksum(input: TusUploadInput, start: number, end: number): Promise<string> {
  const hash = createHash('sha256');
  let position = start;
  for await (const chunk of input.body.read(start, end)) {
    const piece = position + chunk.byteLength > end ? chunk.subarray(0, end - position) : chunk;
    hash.update(piece);
    position += piece.byteLength;
    if (position >= end) break;
  }
  return `sha256 ${hash.digest('base64')}`;
}
