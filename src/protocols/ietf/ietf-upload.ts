import type { Dispatcher } from 'undici';
import { deleteUploadResource } from '../http/delete-upload-resource.ts';
import type { HeaderList } from '../http/header-pairs.ts';
import type { HttpUploadResult } from '../http/http-upload-types.ts';
import { headersForOrigin, parseSessionUrl, queryUploadOffset, resumeLost } from '../http/resumable-step.ts';
import type { ControlOptions } from '../http/resumable-types.ts';
import { ServerAuth } from '../http/server-auth.ts';
import { appendRest, offsetRules } from './ietf-append.ts';
import { finalAnswer, type IetfAttempt, type IetfUploadInput, shrinkAppends } from './ietf-context.ts';
import { carefulCreation, NO_INTERIM, optimisticCreation, speaksDraft } from './ietf-create.ts';
import { DEFAULT_INTEROP_VERSION, type IetfInteropVersion, resourceHeaders } from './ietf-protocol.ts';
import { forgetLostInterims, interimsLost, markInterimsLost } from './lost-interims.ts';
import { checkUploadSize, expiresAt } from './upload-limit.ts';

export type { IetfUploadInput } from './ietf-context.ts';

/**
 * From this size on, the creation waits for the 104 before sending the body, and without one falls
 * back to careful creation. Re-sending a large body after a cut costs more than one extra round trip;
 * and a proxy in front of a draft server can hang for good when the server's 104 comes while the proxy
 * is still passing the body on (nginx 1.22 in 6 to 8 of 10 uploads of 4 to 8 MiB on loopback, none
 * up to 3 MiB: docs/interop.md, "A draft server behind nginx"). A body held back until the 104 is not
 * in flight then. Below 1 MiB a body fits in the socket buffers between a proxy and its server.
 */
export const LARGE_UPLOAD_BYTES = 1024 * 1024;
/** How long a large upload waits for the 104; a draft server sends it as soon as it has the headers. */
export const FIRST_104_WAIT_MS = 2_000;

/**
 * One attempt of an upload through draft-ietf-httpbis-resumable-upload, in the interop version the
 * operation asked for (6 by default; docs/protocols.md lists each version's rules).
 *
 * Without a session: the optimistic creation (the app's request + `Upload-Complete: ?1`), which a
 * plain server sees as a plain upload (how `resumeProtocol: "auto"` detects the draft). A large body
 * waits for the 104 first; without one, OPTIONS tells whether the server speaks the draft: then
 * careful creation (empty body, `Upload-Complete: ?0`) and appends, else the plain upload.
 * With a session: HEAD (§"Offset Retrieval") and appends (§"Upload Append") within the limits.
 * Resolves with the final response; rejects like uploadHttp, plus BT_ERR_RESUME_LOST,
 * BT_ERR_OFFSET_MISMATCH, BT_ERR_BAD_OFFSET, BT_ERR_UPLOAD_LIMIT, BT_ERR_UPLOAD_REJECTED and
 * BT_ERR_UPLOAD_COMPLETED.
 */
export function uploadIetf(input: IetfUploadInput): Promise<HttpUploadResult> {
  if (input.signal.aborted) return Promise.reject(input.signal.reason);
  const attempt: IetfAttempt = {
    input,
    version: input.interopVersion ?? DEFAULT_INTEROP_VERSION,
    // One for the attempt: a Digest challenge from the HEAD also answers the PATCH.
    auth: ServerAuth.create(input.credentials, input.endpoint),
    limits: {},
    acknowledged: 0,
  };
  if (input.session !== null) return resumeUpload(attempt, input.session);
  // A body that waits for no 104 (every one under "auto"): the creation is the whole attempt, and its
  // promise is returned as it is, without an async function's promise and turns around it.
  if (input.body.size < (input.largeUploadBytes ?? LARGE_UPLOAD_BYTES)) {
    return optimisticCreation(attempt, null, afterSizeRefusal);
  }
  return createLarge(attempt);
}

/**
 * A large body: its creation waits for the 104, else asks whether the server speaks the draft at all.
 * Where a 104 was lost lately although the server speaks the draft, it does not wait again.
 */
async function createLarge(attempt: IetfAttempt): Promise<HttpUploadResult> {
  const { input } = attempt;
  if (!interimsLost(input.endpoint)) {
    const created = await optimisticCreation(attempt, input.first104WaitMs ?? FIRST_104_WAIT_MS, afterSizeRefusal);
    if (created !== NO_INTERIM) return created;
  }
  if (!(await speaksDraft(attempt))) {
    forgetLostInterims(input.endpoint);
    // Without a wait there is no NO_INTERIM: the plain upload's own answer.
    return optimisticCreation(attempt, null);
  }
  markInterimsLost(input.endpoint);
  return createAndAppend(attempt);
}

/** Careful creation, then the whole body in appends. */
async function createAndAppend(attempt: IetfAttempt): Promise<HttpUploadResult> {
  const uploadUrl = await carefulCreation(attempt);
  if (!(uploadUrl instanceof URL)) return uploadUrl;
  attempt.input.onBytesSent(0);
  return appendRest(attempt, uploadUrl, resourceHeadersFor(attempt, uploadUrl), 0);
}

/**
 * The creation, carrying the whole body, was answered 413 without `Upload-Complete: ?1`: a limit on
 * one request's size, typically a proxy's (nginx allows 1 MiB by default) in front of the server. "When
 * a client receives a response with a 413 (Content Too Large) status code during upload creation or
 * append, it SHOULD retry the request with a smaller size" (the working group's text after -11). With
 * the upload resource a 104 named, the offset is asked and the rest appended in smaller pieces; without
 * one, OPTIONS asks whether the target speaks the draft (a proxy may have dropped the 104): then careful
 * creation (an empty body, which no size limit refuses) and smaller appends; else the 413 is the answer.
 */
async function afterSizeRefusal(
  attempt: IetfAttempt,
  refused: HttpUploadResult,
  session: URL | null,
): Promise<HttpUploadResult> {
  const { input } = attempt;
  const what = `${refused.requestMethod} ${refused.response.actualUri}`;
  if (session === null && !(await speaksDraft(attempt))) return finalAnswer(attempt, refused, false);
  shrinkAppends(attempt, input.body.size, refused.response.headers, what);
  input.onBytesSent(0);
  return session === null ? createAndAppend(attempt) : appendFromServerOffset(attempt, session);
}

/** A stored session: HEAD for the offset, then the appends. */
async function resumeUpload(
  attempt: IetfAttempt,
  session: NonNullable<IetfUploadInput['session']>,
): Promise<HttpUploadResult> {
  const { input } = attempt;
  const uploadUrl = parseSessionUrl(session.uploadUrl);
  const expires = session.expiresAtMs;
  // "After the resource's lifetime is reached ... a client SHOULD NOT attempt to access the upload resource."
  if (expires !== undefined && expires !== null && expires <= Date.now()) {
    throw resumeLost(uploadUrl, `it expired at ${new Date(expires).toISOString()} (Upload-Limit)`);
  }
  attempt.acknowledged = input.acknowledgedOffset ?? 0;
  return appendFromServerOffset(attempt, uploadUrl);
}

/** HEAD for the offset the upload resource has, then the appends from there. */
async function appendFromServerOffset(attempt: IetfAttempt, uploadUrl: URL): Promise<HttpUploadResult> {
  const { input } = attempt;
  const headers = resourceHeadersFor(attempt, uploadUrl);
  const found = await queryUploadOffset(input, uploadUrl, headers, attempt.auth, offsetRules(attempt));
  // queryUploadOffset reported a complete upload's offset itself.
  if (typeof found !== 'number') return finalAnswer(attempt, found, false);
  checkUploadSize(attempt.limits, input.body.size, uploadUrl.href);
  if (attempt.limits.maxAgeSeconds !== undefined) input.onSession(uploadUrl.href, expiresAt(attempt.limits));
  attempt.acknowledged = found;
  input.onBytesSent(found);
  return appendRest(attempt, uploadUrl, headers, found);
}

/** Headers for the upload resource's requests: the app's (origin-bound ones only to its origin) and the version. */
function resourceHeadersFor(attempt: IetfAttempt, uploadUrl: URL): HeaderList {
  const { input } = attempt;
  return headersForOrigin(resourceHeaders(input.headers, attempt.version), uploadUrl, input.endpoint);
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
  options: ControlOptions & { interopVersion?: IetfInteropVersion } = {},
): Promise<void> {
  const version = options.interopVersion ?? DEFAULT_INTEROP_VERSION;
  return deleteUploadResource(uploadUrl, resourceHeaders(headers, version), dispatcher, signal, options);
}
