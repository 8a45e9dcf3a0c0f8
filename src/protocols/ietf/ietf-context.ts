import { TransferError } from '../../core/errors.ts';
import { deleteUploadResource } from '../http/delete-upload-resource.ts';
import { findHeader, type HeaderPairs } from '../http/header-pairs.ts';
import type { HttpUploadResult } from '../http/http-upload-types.ts';
import { parseOffset } from '../http/resumable-step.ts';
import type { ResumableUploadInput } from '../http/resumable-types.ts';
import type { ServerAuth } from '../http/server-auth.ts';
import {
  type IetfInteropVersion,
  reportsComplete,
  resourceHeaders,
  speaksVersion,
  UPLOAD_RESUMPTION_SUPPORTED,
} from './ietf-protocol.ts';
import { mergeLimits, parseUploadLimit, smallerAppend, type UploadLimits } from './upload-limit.ts';

export interface IetfUploadInput extends ResumableUploadInput {
  /** The app's method for the creation request (any content-bearing method, §"Upload Creation"). */
  method: string;
  /** 307/308 on the creation request are followed as by uploadHttp. */
  maxRedirects: number;
  /** `Upload-Draft-Interop-Version` to speak (default 6). */
  interopVersion?: IetfInteropVersion;
  /**
   * From this body size on, the creation waits for a 104 before sending the body (default
   * LARGE_UPLOAD_BYTES; Infinity: never, as under resumeProtocol "auto").
   */
  largeUploadBytes?: number;
  /** How long a large upload's creation waits for the 104 (default FIRST_104_WAIT_MS). */
  first104WaitMs?: number;
}

/** One attempt's state: the version spoken, what the server announced and acknowledged. */
export interface IetfAttempt {
  input: IetfUploadInput;
  version: IetfInteropVersion;
  auth: ServerAuth | null;
  /** Upload-Limit as learned so far in this attempt. */
  limits: UploadLimits;
  /** The highest offset the server acknowledged. */
  acknowledged: number;
  /**
   * The largest append to send, once a request was answered 413 (Content Too Large) by the upload
   * resource or something before it, such as a proxy's body limit (smallerAppend). Kept apart from
   * `limits`: a later Upload-Limit with a larger max-append-size must not undo it.
   */
  appendCap?: number;
}

/**
 * The final response of the upload. "If the client received a final response with the
 * `Upload-Complete: ?1` header field, the upload is complete ... 4xx or 5xx status codes indicate in
 * this case that the representation was fully transmitted, but an error occurred while processing
 * it. Resuming the upload would not resolve this error" (-11 §"Upload Append"): BT_ERR_UPLOAD_REJECTED,
 * which the engine neither retries nor resumes (the response stays recorded); it carries the status,
 * so the app's HRESULT says 422 or 500.
 */
export function finalAnswer(attempt: IetfAttempt, final: HttpUploadResult, resumable: boolean): HttpUploadResult {
  const { statusCode, headers, actualUri } = final.response;
  if (statusCode >= 200 && statusCode < 300) {
    if (resumable) attempt.input.onOffset(attempt.input.body.size);
    return final;
  }
  if (statusCode >= 400 && reportsComplete(headers)) {
    throw new TransferError(
      'BT_ERR_UPLOAD_REJECTED',
      `${actualUri} answered ${statusCode} with Upload-Complete: ?1: the server received the whole body and failed to process it`,
      // The status makes the HRESULT (as for any HTTP failure); the code keeps the answer final for the retry policy.
      { httpStatus: statusCode },
    );
  }
  return final;
}

/**
 * A 104 may carry the offset received so far (§"Upload Append": progress). Only one of our version,
 * only forward, and never beyond what was sent: a storm of interim answers changes nothing else.
 */
export function reportProgress(attempt: IetfAttempt, status: number, headers: HeaderPairs, sentTo: number): void {
  if (status !== UPLOAD_RESUMPTION_SUPPORTED || !speaksVersion(headers, attempt.version)) return;
  const offset = parseOffset(findHeader(headers, 'upload-offset'));
  if (offset === undefined || offset <= attempt.acknowledged || offset > sentTo) return;
  attempt.acknowledged = offset;
  attempt.input.onOffset(offset);
}

/**
 * A 413 (Content Too Large) without `Upload-Complete: ?1`: not the target resource's verdict on the
 * whole upload but a limit on this one request, of the upload resource or of something in front of it
 * (a proxy's body limit). The request is made again with less in it (shrinkAppends).
 */
export function isSizeRefusal(status: number, headers: HeaderPairs): boolean {
  return status === 413 && !reportsComplete(headers);
}

/**
 * After a size refusal of a request that carried `refused` bytes: any Upload-Limit it had is learned and
 * the appends from here on are smaller (smallerAppend). BT_ERR_UPLOAD_LIMIT, with the 413 as its status,
 * when they cannot get smaller ("a deployment mismatch that cannot be recovered from").
 */
export function shrinkAppends(attempt: IetfAttempt, refused: number, headers: HeaderPairs, what: string): void {
  attempt.limits = mergeLimits(attempt.limits, parseUploadLimit(headers, attempt.version));
  const next = smallerAppend(attempt.limits, refused);
  if (next === undefined) {
    throw new TransferError(
      'BT_ERR_UPLOAD_LIMIT',
      `${what} answered 413 (Content Too Large) to a request with ${refused} bytes of the body, and no smaller append is allowed`,
      { httpStatus: 413 },
    );
  }
  attempt.appendCap = Math.min(attempt.appendCap ?? Infinity, next);
}

/** "If the client discovers that it cannot continue the upload while adhering to the limits, it SHOULD ... cancel the upload." */
export function cancelQuietly(attempt: IetfAttempt, uploadUrl: URL): void {
  const { input } = attempt;
  deleteUploadResource(
    uploadUrl.href,
    resourceHeaders(input.headers, attempt.version),
    input.dispatcher,
    AbortSignal.timeout(input.responseTimeoutMs),
    {
      credentials: input.credentials ?? null,
      credentialScope: input.endpoint,
      responseTimeoutMs: input.responseTimeoutMs,
    },
  ).catch(() => undefined);
}

/**
 * Bounds a storm of 104s after the body. The exchange restarts its response timeout (R48) at every
 * 1xx, so a server that keeps sending 104s would hold the request forever. From the first 104 after
 * the whole body was handed over, the final answer must come within `responseTimeoutMs`: a 1xx that
 * arrives later throws BT_ERR_TIMEOUT from `interim`, inside the exchange's informational callback,
 * which fails the request with it; if none arrives, the response timeout the last one restarted ends
 * the request. Either way it ends at most twice `responseTimeoutMs` after that first 104.
 *
 * Checked as the 1xx arrive, not by a timer of its own: the request then needs no AbortController,
 * listener or timer beside the attempt's, which every small `'auto'` upload would otherwise pay for
 * (docs/performance.md, "`resumeProtocol 'auto'`").
 */
export class InterimWatchdog {
  readonly #timeoutMs: number;
  readonly #end: number;
  readonly #method: string;
  readonly #url: URL;
  #bodySent = false;
  #interims = 0;
  /** When the first 1xx after the body came (performance.now()); -1 before it. */
  #firstAfterBody = -1;

  /** `end`: the byte after the body's last; `timeoutMs`: the request's response timeout. */
  constructor(end: number, timeoutMs: number, method: string, url: URL) {
    this.#timeoutMs = timeoutMs;
    this.#end = end;
    this.#method = method;
    this.#url = url;
  }

  /** Absolute bytes handed over so far. */
  sent(value: number): void {
    if (value >= this.#end) this.#bodySent = true;
  }

  /** A 1xx arrived; throws BT_ERR_TIMEOUT when it came too long after the first one after the body. */
  interim(): void {
    this.#interims += 1;
    if (!this.#bodySent) return;
    const now = performance.now();
    if (this.#firstAfterBody < 0) {
      this.#firstAfterBody = now;
      return;
    }
    if (now - this.#firstAfterBody <= this.#timeoutMs) return;
    throw new TransferError(
      'BT_ERR_TIMEOUT',
      `${this.#method} ${this.#url.href}: no final answer within ${this.#timeoutMs} ms after the body, only ${this.#interims} interim responses`,
    );
  }
}
