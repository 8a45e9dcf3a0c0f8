import type { Dispatcher } from 'undici';
import { TransferError } from '../../core/errors.ts';
import { deleteUploadResource } from '../http/delete-upload-resource.ts';
import { findHeader, type HeaderList, type HeaderPairs } from '../http/header-pairs.ts';
import { uploadHttp } from '../http/http-upload.ts';
import type { HttpUploadResult } from '../http/http-upload-types.ts';
import { requestMessage, urlText } from '../http/request-messages.ts';
import {
  type OffsetRules,
  parseSessionUrl,
  queryUploadOffset,
  resolveUploadUrl,
  resumeLost,
  sendStep,
} from '../http/resumable-step.ts';
import type { ControlOptions, ResumableUploadInput } from '../http/resumable-types.ts';
import { ServerAuth } from '../http/server-auth.ts';
import {
  creationHeaders,
  isAcceptedInterim,
  PARTIAL_UPLOAD_CONTENT_TYPE,
  reportsComplete,
  resourceHeaders,
  UPLOAD_RESUMPTION_SUPPORTED,
  uploadOffset,
} from './ietf-protocol.ts';

export interface IetfUploadInput extends ResumableUploadInput {
  /** The app's method for the creation request (any content-bearing method, §"Upload Creation"). */
  method: string;
  /** 307/308 on the creation request are followed as by uploadHttp. */
  maxRedirects: number;
}

/** The upload resource is gone ("404 (Not Found)" / "410 (Gone)" on the offset query). */
const GONE_STATUSES: ReadonlySet<number> = new Set([404, 410]);

/** §"Offset Retrieval": Upload-Offset, and Upload-Complete: ?1 when the whole body is there. */
const IETF_OFFSET: OffsetRules = {
  lostStatuses: GONE_STATUSES,
  reportsComplete: (headers) => reportsComplete(headers),
  offset: (headers) => uploadOffset(headers),
};

/**
 * One attempt of an upload through draft-ietf-httpbis-resumable-upload-05 (interop version 6).
 *
 * Without a session the app's own request is sent, marked `Upload-Complete: ?1` (§"Upload Creation",
 * "optimistic" creation): a draft server answers `104` with the upload resource's `Location` at once,
 * which goes to `onSession`; a server that ignores the headers sees a plain upload, so this costs
 * nothing where the draft is not spoken (how `resumeProtocol: "auto"` detects it).
 * With a session: HEAD (§"Offset Retrieval") and one PATCH with the rest (§"Upload Append").
 * Resolves with the final response; rejects like uploadHttp, plus BT_ERR_RESUME_LOST and
 * BT_ERR_OFFSET_MISMATCH.
 */
export async function uploadIetf(input: IetfUploadInput): Promise<HttpUploadResult> {
  input.signal.throwIfAborted();
  if (input.session === null) return createUpload(input);
  const uploadUrl = parseSessionUrl(input.session.uploadUrl);
  const headers = resourceHeaders(input.headers);
  // One for the attempt: a Digest challenge from the HEAD also answers the PATCH.
  const auth = ServerAuth.create(input.credentials, input.endpoint);
  let conflicts = 0;
  for (;;) {
    const found = await queryUploadOffset(input, uploadUrl, headers, auth, IETF_OFFSET);
    if (typeof found !== 'number') return found;
    input.onBytesSent(found);
    const { response, final } = await sendStep(
      input,
      {
        url: uploadUrl,
        method: 'PATCH',
        headers: [
          ...headers,
          ['Upload-Offset', String(found)],
          ['Upload-Complete', '?1'],
          ['Content-Type', PARTIAL_UPLOAD_CONTENT_TYPE],
        ],
        body: { source: input.body, start: found },
        // With Upload-Complete: ?1 the answer is the target resource's response (§"Upload Append").
        isFinal: (status) => status !== 409 && !GONE_STATUSES.has(status),
        onInformational: (status, pairs) => reportProgress(input, status, pairs),
      },
      auth,
    );
    if (final !== null) {
      if (final.response.statusCode >= 200 && final.response.statusCode < 300) input.onOffset(input.body.size);
      return final;
    }
    if (GONE_STATUSES.has(response.status)) throw resumeLost(uploadUrl, `PATCH answered ${response.status}`);
    // 409: "the server MUST respond with 409 (Conflict)" when Upload-Offset does not match; the
    // offset is queried again once (it may have moved when the server kept more of a cut request).
    conflicts += 1;
    if (conflicts > 1) {
      throw new TransferError(
        'BT_ERR_OFFSET_MISMATCH',
        requestMessage('PATCH', uploadUrl, `the server answered 409 twice for offset ${found}`),
      );
    }
  }
}

/** The app's request, upgraded: a 104 with Location makes it resumable from then on. */
async function createUpload(input: IetfUploadInput): Promise<HttpUploadResult> {
  let session: string | null = null;
  const result = await uploadHttp({
    url: input.endpoint,
    method: input.method,
    headers: creationHeaders(input.headers),
    body: input.body,
    responseBodyPath: input.responseBodyPath,
    dispatcher: input.dispatcher,
    signal: input.signal,
    responseTimeoutMs: input.responseTimeoutMs,
    stallTimeoutMs: input.stallTimeoutMs,
    maxRedirects: input.maxRedirects,
    credentials: input.credentials ?? null,
    onBytesSent: (sent) => input.onBytesSent(sent),
    onResponse: (response, total) => input.onResponse({ ...response, isResumable: session !== null }, total),
    onBytesReceived: (received) => input.onBytesReceived(received),
    onInformational(status, headers, url) {
      if (status !== UPLOAD_RESUMPTION_SUPPORTED || !isAcceptedInterim(headers)) return;
      const location = findHeader(headers, 'location');
      if (session === null && location !== undefined && location !== '') {
        let resolved: URL;
        try {
          resolved = resolveUploadUrl(location, url, `104 from ${urlText(url)}`);
        } catch {
          // A broken Location only means this upload cannot be resumed; the request itself goes on.
          return;
        }
        session = resolved.href;
        input.onSession(session);
      }
      reportProgress(input, status, headers);
    },
  });
  // ResponseInformation.isResumable: the final response came from a request the server made resumable.
  return { ...result, response: { ...result.response, isResumable: session !== null } };
}

/** A 104 during an append may carry the offset received so far (§"Upload Append": progress). */
function reportProgress(input: IetfUploadInput, status: number, headers: HeaderPairs): void {
  if (status !== UPLOAD_RESUMPTION_SUPPORTED) return;
  const offset = uploadOffset(headers);
  if (offset !== undefined && offset <= input.body.size) input.onOffset(offset);
}

/**
 * Cancels the upload resource (§"Upload Cancellation": DELETE) so the server frees it. An upload the
 * server no longer knows (404/410) counts as cancelled; another non-2xx rejects with BT_ERR_HTTP_STATUS.
 */
export function terminateIetf(
  uploadUrl: string,
  dispatcher: Dispatcher,
  headers: HeaderList,
  signal: AbortSignal,
  options: ControlOptions = {},
): Promise<void> {
  return deleteUploadResource(uploadUrl, resourceHeaders(headers), dispatcher, signal, options);
}
