import { TransferError } from '../../core/errors.ts';
import { findHeader, type HeaderList } from '../http/header-pairs.ts';
import type { HttpUploadResult } from '../http/http-upload-types.ts';
import { requestLabel, requestMessage } from '../http/request-messages.ts';
import { checkedOffset, resolveUploadUrl, sendStep } from '../http/resumable-step.ts';
import type { ServerAuth } from '../http/server-auth.ts';
import { type ExpiryTracker, uploadExpires } from './tus-expires.ts';
import { encodeMetadata, TUS_PATCH_CONTENT_TYPE } from './tus-protocol.ts';
import type { TusUploadInput } from './tus-types.ts';

/**
 * Most body a creation POST carries (creation-with-upload): the first bytes travel during the
 * creation's round trip instead of after it. The upload URL only arrives with the POST's answer, so
 * everything a cut POST sent is lost; keeping the POST short bounds that loss.
 */
export const CREATION_BODY_BYTES = 256 * 1024;

/**
 * How much of a body the creation may carry: never its last byte. A creation that carried the whole
 * body could complete an upload whose URL the client never learns (the process dies before the
 * answer): the next process could neither resume it nor tell whether it arrived, and would have to
 * terminate it (R12) or risk delivering it twice. Without the last byte, a creation in flight never
 * completes anything ("creation pending" stays true), so it is safely created again.
 */
export function creationBodyBytes(size: number, chunkSizeBytes: number | undefined): number {
  const chunk = chunkSizeBytes !== undefined && chunkSizeBytes > 0 ? chunkSizeBytes : Number.POSITIVE_INFINITY;
  return Math.max(0, Math.min(size - 1, CREATION_BODY_BYTES, chunk));
}

/** Content Too Large: beyond Tus-Max-Size, or beyond a limit on one request's size (a proxy's). */
const CONTENT_TOO_LARGE = 413;

export type Creation = { url: URL; offset: number; expiresAtMs: number | undefined } | { final: HttpUploadResult };

/**
 * POST to the creation endpoint (creation extension): the upload URL and the offset the server already
 * has (creation-with-upload: its answer's Upload-Offset, checked against what the POST carried), or a
 * final answer: an error, or the final concatenation's answer.
 */
export async function createUpload(
  input: TusUploadInput,
  headers: HeaderList,
  auth: ServerAuth | null,
  expiry: ExpiryTracker,
  concat?: string,
): Promise<Creation> {
  const size = input.body.size;
  const metadata = encodeMetadata(input.metadata);
  const createHeaders: Array<readonly [string, string]> = [...headers];
  // "The Client MUST NOT include the Upload-Length header in the final upload creation".
  if (!concat?.startsWith('final')) createHeaders.push(['Upload-Length', String(size)]);
  if (concat !== undefined) createHeaders.push(['Upload-Concat', concat]);
  if (metadata !== null) createHeaders.push(['Upload-Metadata', metadata]);
  let carried = withUploadBytes(input, concat);
  const send = (bytes: number) =>
    sendStep(
      input,
      {
        url: input.endpoint,
        method: 'POST',
        headers: bytes > 0 ? [...createHeaders, ['Content-Type', TUS_PATCH_CONTENT_TYPE]] : createHeaders,
        body: bytes > 0 ? { source: input.body, start: 0, end: bytes } : null,
        // A refusal (401, 413 "Upload-Length exceeds Tus-Max-Size", 5xx…) is the attempt's answer, and so
        // is the final concatenation's (the upload is complete). A 413 to a creation that carried body
        // bytes may be a proxy's limit on one request's size: that creation is made again without them.
        isFinal: (status) =>
          !(status === CONTENT_TOO_LARGE && bytes > 0) &&
          (status < 200 || status >= 300 || concat?.startsWith('final') === true),
      },
      auth,
    );
  let { response, final } = await send(carried);
  if (response.status === CONTENT_TOO_LARGE && final === null) {
    carried = 0;
    input.onBytesSent(0);
    ({ response, final } = await send(carried));
  }
  if (final !== null) {
    if (response.status >= 200 && response.status < 300) input.onOffset(size);
    return { final };
  }
  const location = findHeader(response.headers, 'location');
  if (location === undefined || location === '') {
    throw new TransferError(
      'BT_ERR_INVALID_RESPONSE',
      requestMessage('POST', input.endpoint, `the tus creation was answered ${response.status} without a Location`),
    );
  }
  const url = resolveUploadUrl(location, input.endpoint, requestLabel('POST', input.endpoint));
  // A server that took none of the body may leave Upload-Offset out: the PATCHes start at 0.
  const offset =
    carried > 0
      ? (checkedOffset(findHeader(response.headers, 'upload-offset'), 0, carried, `POST ${input.endpoint.href}`) ?? 0)
      : 0;
  expiry.see(response.headers);
  return { url, offset, expiresAtMs: uploadExpires(response.headers) };
}

/**
 * How many body bytes the creation carries: none unless the server has creation-with-upload. Not with
 * the checksum extension (its 460 answers a PATCH; a creation refused for a checksum would leave no
 * upload to send the chunk to again) nor for the final concatenation (it has no body of its own).
 */
function withUploadBytes(input: TusUploadInput, concat: string | undefined): number {
  if (concat?.startsWith('final') || input.sha256Checksum) return 0;
  if (!input.extensions?.includes('creation-with-upload')) return 0;
  return creationBodyBytes(input.body.size, input.chunkSizeBytes);
}
