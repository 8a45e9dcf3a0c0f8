import type { Dispatcher } from 'undici';
import type { Config } from '../core/config.ts';
import { TransferError, toTransferError } from '../core/errors.ts';
import { uploadHttp } from '../protocols/http/http-upload.ts';
import type { OperationStore } from '../store/operation-store.ts';
import type { LiveTransfer } from './live-transfer.ts';
import { parseRetryAfter } from './retry-policy.ts';

export interface AttemptContext {
  live: LiveTransfer;
  store: OperationStore;
  dispatcher: Dispatcher;
  config: Config;
  responseBodyPath: string;
  /** A new final response was recorded (publish it at once: R39). */
  onResponse(): void;
}

export type AttemptOutcome =
  | { kind: 'completed' }
  | { kind: 'failed'; error: TransferError; retryAfterMs: number | undefined };

/**
 * One request of an operation, from byte 0 of its source (R38: uploads restart whole until the
 * resumable protocols arrive). A final 2xx completes it; any other final status is an error that keeps
 * the response (reference §4.3: "status ≥ 400 → Error, response still readable").
 */
export async function runAttempt(context: AttemptContext): Promise<AttemptOutcome> {
  const { live, store } = context;
  const record = live.record;
  try {
    const result = await uploadHttp({
      url: new URL(record.requestedUri),
      method: record.method,
      headers: record.headers,
      source: {
        path: record.sourcePath ?? '',
        size: record.sourceSize,
        mtimeMs: record.sourceMtimeMs,
        ino: record.sourceIno,
      },
      responseBodyPath: context.responseBodyPath,
      dispatcher: context.dispatcher,
      signal: live.controller.signal,
      responseTimeoutMs: context.config.responseTimeoutMs,
      maxRedirects: context.config.maxRedirects,
      onBytesSent(bytesSent) {
        live.bytesSent = bytesSent;
        live.dirty = true;
      },
      onResponse(response, totalBytesToReceive) {
        const updated = store.recordResponse(record.guid, response, totalBytesToReceive);
        if (!updated) return;
        live.acceptResponse(updated, totalBytesToReceive);
        context.onResponse();
      },
      onBytesReceived(bytesReceived) {
        live.bytesReceived = bytesReceived;
        live.dirty = true;
      },
    });
    const status = result.response.statusCode;
    if (status >= 200 && status < 300) return { kind: 'completed' };
    const retryAfter = result.response.headers.find(([name]) => name.toLowerCase() === 'retry-after')?.[1];
    return {
      kind: 'failed',
      error: new TransferError(
        'BT_ERR_HTTP_STATUS',
        `the server answered ${status} for ${record.method} ${record.requestedUri}`,
        {
          httpStatus: status,
        },
      ),
      retryAfterMs: parseRetryAfter(retryAfter, Date.now()),
    };
  } catch (error) {
    return { kind: 'failed', error: toTransferError(error, 'BT_ERR_NETWORK'), retryAfterMs: undefined };
  }
}
