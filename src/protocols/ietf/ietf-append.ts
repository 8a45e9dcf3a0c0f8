import { TransferError } from '../../core/errors.ts';
import { findHeader, type HeaderList } from '../http/header-pairs.ts';
import type { HttpUploadResult } from '../http/http-upload-types.ts';
import { checkedOffset, type OffsetRules, queryUploadOffset, resumeLost, sendStep } from '../http/resumable-step.ts';
import {
  finalAnswer,
  type IetfAttempt,
  InterimWatchdog,
  isSizeRefusal,
  reportProgress,
  shrinkAppends,
} from './ietf-context.ts';
import { PARTIAL_UPLOAD_CONTENT_TYPE, reportsComplete } from './ietf-protocol.ts';
import { checkUploadSize, mergeLimits, nextAppendEnd, parseUploadLimit } from './upload-limit.ts';

/** "404 (Not Found)" on the offset query: the upload resource is gone. (410 too, §"Offset Retrieval".) */
const LOST_STATUSES: ReadonlySet<number> = new Set([404, 410]);

/** §"Offset Retrieval": Upload-Offset, and Upload-Complete: ?1 when the whole body is there; limits may come along. */
export function offsetRules(attempt: IetfAttempt): OffsetRules {
  return {
    lostStatuses: LOST_STATUSES,
    reportsComplete: (headers) => reportsComplete(headers),
    offsetHeader: 'upload-offset',
    onAnswer(headers) {
      attempt.limits = mergeLimits(attempt.limits, parseUploadLimit(headers, attempt.version));
    },
  };
}

/**
 * §"Upload Append": PATCHes from `offset` to the end, each within `max-append-size` (the last one
 * carries `Upload-Complete: ?1`). A 409 names the server's offset, used after checking it; without
 * one the offset is queried. A 413 without `Upload-Complete: ?1` sends the same bytes again in smaller
 * appends (shrinkAppends). 404 → BT_ERR_RESUME_LOST (the engine starts over); 410 →
 * BT_ERR_UPLOAD_COMPLETED (not sent again).
 */
export async function appendRest(
  attempt: IetfAttempt,
  uploadUrl: URL,
  headers: HeaderList,
  from: number,
): Promise<HttpUploadResult> {
  const { input } = attempt;
  const size = input.body.size;
  let offset = from;
  let conflicts = 0;
  for (;;) {
    checkUploadSize(attempt.limits, size, uploadUrl.href);
    const end = nextAppendEnd(attempt.limits, offset, size, attempt.appendCap);
    const complete = end === size;
    let sentTo = offset;
    const watchdog = new InterimWatchdog(end, input.responseTimeoutMs, 'PATCH', uploadUrl);
    const { response, final } = await sendStep(
      {
        ...input,
        onBytesSent(value) {
          sentTo = Math.max(sentTo, value);
          watchdog.sent(value);
          input.onBytesSent(value);
        },
      },
      {
        url: uploadUrl,
        method: 'PATCH',
        headers: [
          ...headers,
          ['Upload-Offset', String(offset)],
          ['Upload-Complete', complete ? '?1' : '?0'],
          ['Content-Type', PARTIAL_UPLOAD_CONTENT_TYPE],
        ],
        body: { source: input.body, start: offset, end },
        // With Upload-Complete: ?1 the answer is the target resource's response; an error ends any append.
        // A 413 without Upload-Complete: ?1 limits this request only: the bytes go again, in smaller appends.
        isFinal: (status, pairs) =>
          status !== 409 &&
          !LOST_STATUSES.has(status) &&
          !isSizeRefusal(status, pairs) &&
          (complete || status < 200 || status >= 300),
        // A 104 storm's timeout thrown here fails the request: the exchange runs this callback guarded.
        onInformational(status, pairs) {
          watchdog.interim();
          reportProgress(attempt, status, pairs, sentTo);
        },
      },
      attempt.auth,
    );
    if (final !== null) return finalAnswer(attempt, final, true);
    const what = `PATCH ${uploadUrl.href}`;
    if (response.status === 404) throw resumeLost(uploadUrl, `${what} answered 404`);
    if (response.status === 410) {
      throw new TransferError(
        'BT_ERR_UPLOAD_COMPLETED',
        `${what} answered 410 Gone: the upload resource is no longer available (completed, or closed); the body is not sent again`,
      );
    }
    if (response.status === 413) {
      shrinkAppends(attempt, end - offset, response.headers, what);
      input.onBytesSent(offset);
      continue;
    }
    if (response.status === 409) {
      conflicts += 1;
      if (conflicts > 1) {
        throw new TransferError('BT_ERR_OFFSET_MISMATCH', `${uploadUrl.href} answered 409 twice (offset ${offset})`);
      }
      // -05: "The server MUST send the Upload-Offset header field in the response if it considers the
      // upload active, ... when the response is a failure (e.g. 409 (Conflict))"; -09 on: "MUST include
      // the correct offset". Checked: not beyond what was sent, not behind what was acknowledged.
      const told = checkedOffset(
        findHeader(response.headers, 'upload-offset'),
        attempt.acknowledged,
        sentTo,
        `409 to ${what}`,
      );
      if (told === undefined) {
        const found = await queryUploadOffset(input, uploadUrl, headers, attempt.auth, offsetRules(attempt));
        if (typeof found !== 'number') return finalAnswer(attempt, found, false);
        offset = found;
      } else {
        offset = told;
        input.onOffset(offset);
      }
      attempt.acknowledged = offset;
      input.onBytesSent(offset);
      continue;
    }
    // An intermediate append was accepted (2xx, Upload-Complete: ?0). -04/-05 require its Upload-Offset;
    // interop 8 may leave it out (the whole append is then acknowledged).
    attempt.limits = mergeLimits(attempt.limits, parseUploadLimit(response.headers, attempt.version));
    const acknowledged = checkedOffset(findHeader(response.headers, 'upload-offset'), offset, end, what) ?? end;
    if (acknowledged === offset) {
      throw new TransferError('BT_ERR_OFFSET_MISMATCH', `${what} of bytes ${offset}–${end} acknowledged none of them`);
    }
    offset = acknowledged;
    attempt.acknowledged = offset;
    conflicts = 0;
    input.onOffset(offset);
  }
}
