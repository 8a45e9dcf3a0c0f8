import { partialPathOf } from '../core/download-paths.ts';
import { TransferError, toTransferError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { OperationExtras } from '../core/operation-extras.ts';
import type { ResponseSnapshot } from '../core/snapshot.ts';
import {
  checkDigest,
  type DownloadPlan,
  downloadHttp,
  findHeader,
  promisedDigest,
  requestMessage,
  validatorOf,
  verifyFileDigest,
} from '../protocols/download-protocol.ts';
import type { OperationRecord } from '../store/operation-record.ts';
import { saveExtras } from './attempt-delivery.ts';
import { openBody } from './body-factory.ts';
import { Checkpoints } from './download-checkpoints.ts';
import { DownloadHashing } from './download-hashing.ts';
import { discardPartial, diskFullOr, preparePartial, publishResult } from './download-partial.ts';
import { parseRetryAfter } from './retry-policy.ts';
import type { AttemptContext, AttemptOutcome } from './run-attempt.ts';

/** A download's resume state (extras.session with protocol 'download'). */
export type DownloadSession = NonNullable<OperationExtras['session']>;

export function newDownloadSession(): DownloadSession {
  return { protocol: 'download', uploadUrl: null, validator: null, totalBytes: null, digest: null };
}

/**
 * One attempt of a download (docs/downloads.md): continue the partial file from what was fsynced (a range
 * request guarded by If-Range), or start it over when the server sends the whole body; on the last byte,
 * fsync, check the length and any digest, and only then rename it onto the result file.
 */
export async function runDownload(context: AttemptContext): Promise<AttemptOutcome> {
  const { live } = context;
  const resultPath = live.record.resultPath;
  if (resultPath === null) {
    return failed(new TransferError('BT_ERR_INTERNAL', `download ${live.record.guid} has no result file`));
  }
  const partialPath = partialPathOf(resultPath, live.record.guid);
  const stall = new AbortController();
  const signal = AbortSignal.any([live.controller.signal, stall.signal]);
  const url = new URL(live.record.requestedUri);
  const hashing = new DownloadHashing();
  const checkpoints = new Checkpoints({
    partialPath,
    stallTimeoutMs: context.config.stallTimeoutMs,
    onStall: (error) => stall.abort(error),
    describe: () => requestMessage(live.record.method, url, 'the download'),
    onDurable: (size) => recordDurable(context, size),
  });
  try {
    live.bytesSent = 0;
    for (let round = 0; ; round += 1) {
      const session = sessionOf(context);
      // Without a validator nothing vouches that the bytes on disk belong to today's representation.
      const trusted = session.validator ? live.record.ackOffset : 0;
      const offset = await preparePartial(partialPath, trusted);
      recordDurable(context, offset);
      const appDigest = live.record.extras.expectedContentDigest;
      await hashing.prime(partialPath, offset, [session.digest, appDigest]);
      live.totalBytesToReceive = session.totalBytes ?? 0;
      const result = await downloadHttp({
        url,
        method: live.record.method,
        headers: live.record.headers,
        body: requestBody(context),
        offset,
        validator: session.validator ?? null,
        partialPath,
        responseBodyPath: context.responseBodyPath,
        dispatcher: context.dispatcher,
        signal,
        responseTimeoutMs: context.config.responseTimeoutMs,
        stallTimeoutMs: context.config.stallTimeoutMs,
        maxRedirects: context.config.maxRedirects,
        credentials: live.record.extras.serverCredential,
        onBytesSent: (value) => {
          live.bytesSent = value;
          live.dirty = true;
        },
        onResponse: (response, plan) => {
          acceptHead(context, response, plan, offset, session);
          if (plan.kind === 'resume' || plan.kind === 'restart') checkpoints.start();
        },
        // acceptHead stored the digest this answer promised (or kept the earlier one for a resume).
        hashFor: (plan) => hashing.sinkFor(plan.kind === 'restart', [sessionOf(context).digest, appDigest]),
      });
      const durable = await checkpoints.finish();
      const { plan, response } = result;
      if (plan.kind === 'error') return httpFailure(result.requestMethod, response);
      if (plan.kind === 'rangeRefused') {
        // The whole file was on disk already, or the server will not give a range: start over once.
        if (plan.total !== null && plan.total === offset)
          return await complete(context, partialPath, resultPath, false, hashing);
        if (round > 0) throw contentRangeError(result.requestMethod, response, 'refused the range again');
        restartFromZero(context);
        continue;
      }
      if (result.bodyCut) {
        return failed(
          new TransferError(
            'BT_ERR_CONNECTION_RESET',
            requestMessage(result.requestMethod, response.actualUri, `the body was cut after ${durable} bytes`),
          ),
        );
      }
      const total = sessionOf(context).totalBytes;
      if (total !== null && total !== undefined && durable !== total) {
        return failed(
          new TransferError(
            'BT_ERR_INVALID_RESPONSE',
            requestMessage(result.requestMethod, response.actualUri, `the body ended at ${durable} of ${total} bytes`),
          ),
        );
      }
      // Fresh: every byte of the file came in this answer (none kept from an earlier one).
      return await complete(context, partialPath, resultPath, plan.kind === 'restart' || offset === 0, hashing);
    }
  } catch (error) {
    await checkpoints.finish().catch(() => undefined);
    const coded = toTransferError(diskFullOr(error), 'BT_ERR_NETWORK');
    if (coded.code === 'BT_ERR_CONTENT_RANGE') restartFromZero(context);
    // The write stream may have created the file again after the cancel removed it.
    if (live.stopReason === 'cancel') await discardPartial(partialPath).catch(() => undefined);
    return failed(coded);
  }
}

/**
 * Removes an ended download's partial file. A failure is logged, never thrown: the operation has ended
 * either way, and a file that stays behind is only a leftover, not lost data.
 */
export function discardDownloadPartial(record: OperationRecord, log: Logger): Promise<void> {
  if (record.direction !== 'download' || record.resultPath === null) return Promise.resolve();
  const path = partialPathOf(record.resultPath, record.guid);
  return discardPartial(path).catch((error: unknown) =>
    log.info({ guid: record.guid, err: error }, 'could not remove a partial file'),
  );
}

export function failed(error: TransferError, retryAfterMs?: number): AttemptOutcome {
  return { kind: 'failed', error, retryAfterMs };
}

export function sessionOf(context: AttemptContext): DownloadSession {
  const session = context.live.record.extras.session;
  return session?.protocol === 'download' ? session : newDownloadSession();
}

export function saveSession(context: AttemptContext, session: DownloadSession): void {
  saveExtras(context, { ...context.live.record.extras, session });
}

/** The next request starts the partial file over (its bytes can no longer be vouched for). */
function restartFromZero(context: AttemptContext, digestRetried?: boolean): void {
  saveSession(context, digestRetried ? { ...newDownloadSession(), digestRetried } : newDownloadSession());
  recordDurable(context, 0);
}

/** The fsynced size: the resume point (ackOffset) and the progress shown (bytesReceived). */
export function recordDurable(context: AttemptContext, size: number): void {
  const { live, store } = context;
  live.bytesReceived = size;
  live.dirty = true;
  if (live.record.ackOffset === size) return;
  live.record = { ...live.record, ackOffset: size };
  store.recordAcknowledged(live.record.guid, size);
}

function requestBody(context: AttemptContext) {
  const record = context.live.record;
  if (record.extras.body.kind === 'none') return null;
  return openBody(record, record.extras.body).source;
}

/**
 * The head of the final answer: checked against what is known of the representation (before a byte
 * is written), stored as the response (R41), and turned into the new resume state.
 */
function acceptHead(
  context: AttemptContext,
  response: ResponseSnapshot,
  plan: DownloadPlan,
  offset: number,
  session: DownloadSession,
): void {
  const { live, store } = context;
  if (
    plan.kind === 'resume' &&
    session.totalBytes != null &&
    plan.total !== null &&
    plan.total !== session.totalBytes
  ) {
    throw contentRangeError(
      context.live.record.method,
      response,
      `sent a total length of ${plan.total}, but the partial file belongs to one of ${session.totalBytes}`,
    );
  }
  const updated = store.recordResponse(
    live.record.guid,
    response,
    plan.kind === 'resume' || plan.kind === 'restart' ? (plan.total ?? 0) : 0,
  );
  if (updated) live.record = { ...updated, extras: live.record.extras, ackOffset: live.record.ackOffset };
  if (plan.kind === 'resume') {
    live.bytesReceived = offset;
    live.totalBytesToReceive = plan.total ?? session.totalBytes ?? 0;
    saveSession(context, {
      ...session,
      totalBytes: plan.total ?? session.totalBytes ?? null,
      digest: promisedDigest(response.headers, false) ?? session.digest ?? null,
    });
  } else if (plan.kind === 'restart') {
    if (offset > 0) {
      // R38/R39 for downloads: the bytes on disk are dropped and a (maybe changed) body begins again.
      live.hasRestarted = true;
      live.hasResponseChanged = true;
    }
    live.bytesReceived = 0;
    live.totalBytesToReceive = plan.total ?? 0;
    saveSession(context, {
      protocol: 'download',
      uploadUrl: null,
      validator: validatorOf(response.headers),
      totalBytes: plan.total,
      digest: promisedDigest(response.headers, true),
      ...(session.digestRetried ? { digestRetried: true } : {}),
    });
    recordDurable(context, 0);
  }
  live.dirty = true;
  context.onResponse();
}

function contentRangeError(method: string, response: ResponseSnapshot, what: string): TransferError {
  return new TransferError('BT_ERR_CONTENT_RANGE', requestMessage(method, response.actualUri, `the server ${what}`));
}

function httpFailure(method: string, response: ResponseSnapshot): AttemptOutcome {
  const status = response.statusCode;
  return failed(
    new TransferError(
      'BT_ERR_HTTP_STATUS',
      requestMessage(method, response.actualUri, `the server answered ${status}`),
      {
        httpStatus: status,
      },
    ),
    parseRetryAfter(findHeader(response.headers, 'retry-after'), Date.now()),
  );
}

/**
 * Every byte is on disk and fsynced: check the digests, then make the result file appear at once. A
 * mismatch discards the file. It is retried from byte 0 once: the server's digest may have caught
 * corruption in transit, and a file continued from an earlier answer may hold stale bytes. Without
 * that excuse (the app's digest failed on a `fresh` file, all of it from one answer that the server's
 * digest, if any, vouched for), or on the retry, it is final: fetching the same bytes again cannot help.
 */
export async function complete(
  context: AttemptContext,
  partialPath: string,
  resultPath: string,
  fresh: boolean,
  hashing: DownloadHashing,
): Promise<AttemptOutcome> {
  const { live } = context;
  const session = sessionOf(context);
  const what = requestMessage(live.record.method, live.record.requestedUri, 'download');
  // The server's digest first, then the app's: a mismatch with the app's is reported even when the
  // server sent none.
  const checks = [
    { digest: session.digest, app: false },
    { digest: live.record.extras.expectedContentDigest, app: true },
  ];
  for (const { digest, app } of checks) {
    if (typeof digest !== 'string' || digest === '') continue;
    try {
      // Hashed while written when it could be; else (a resume whose digest came only now) read back.
      const computed = hashing.digestOf(digest, live.record.ackOffset);
      if (computed === null) await verifyFileDigest(partialPath, digest, what);
      else checkDigest(computed, digest, what);
    } catch (error) {
      await discardPartial(partialPath);
      const coded = toTransferError(error);
      if (coded.code !== 'BT_ERR_DIGEST_MISMATCH') {
        restartFromZero(context);
        return failed(coded);
      }
      const final = session.digestRetried === true || (app && fresh);
      restartFromZero(context, true);
      return failed(new TransferError(coded.code, coded.message, { retryable: !final }));
    }
  }
  // A cancel or pause that came while the digest was read: the result file must not appear now.
  live.controller.signal.throwIfAborted();
  await publishResult(partialPath, resultPath);
  return { kind: 'completed' };
}
