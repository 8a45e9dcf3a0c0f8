import { type ErrorCode, TransferError } from '../core/errors.ts';
import type { OperationSnapshot, ResponseSnapshot } from '../core/snapshot.ts';
import type { OperationRecord } from '../store/operation-record.ts';

/** Why the engine itself stopped a request (null: it ended on its own). */
export type StopReason = 'cancel' | 'pause' | 'network' | 'preempt' | 'shutdown';

const STOP_MESSAGES: Readonly<Record<StopReason, [ErrorCode, string]>> = {
  cancel: ['BT_ERR_CANCELED', 'the upload was canceled'],
  pause: ['BT_ERR_ILLEGAL_STATE', 'the upload was paused'],
  network: ['BT_ERR_NETWORK', 'the network is not available or not allowed by the cost policy'],
  preempt: ['BT_ERR_ILLEGAL_STATE', 'another upload of the serialized group was made current (R32)'],
  shutdown: ['BT_ERR_INTERNAL', 'the transfer engine is shutting down'],
};

/**
 * The in-memory side of a running operation: byte counters move far faster than the store is written,
 * so snapshots of a running operation are its last stored record overlaid with these counters.
 */
export class LiveTransfer {
  readonly controller = new AbortController();
  record: OperationRecord;
  bytesSent = 0;
  bytesReceived = 0;
  totalBytesToReceive = 0;
  /** Progress changed since the last published snapshot. */
  dirty = false;
  /**
   * R38: this request started the upload over from byte 0. It stays set for the whole request; each
   * UploadOperation object shows it in the first notification it receives for the request.
   */
  hasRestarted: boolean;
  /** R39: a new response arrived; true in exactly one published notification. */
  hasResponseChanged = false;
  lastPersistMs = 0;
  /** The request returned: from here on the store holds its counters, not this object. */
  ended = false;
  done: Promise<void> = Promise.resolve();
  #stopReason: StopReason | null = null;

  constructor(record: OperationRecord) {
    this.record = record;
    this.hasRestarted = record.progress.hasRestarted;
    // A resumed request continues from what the server acknowledged (R38 restarts from 0 otherwise).
    this.bytesSent = record.extras.session === null ? 0 : record.ackOffset;
    // A download continues its partial file: it shows what the stopped request left until this one
    // says where it really starts (the fsynced size, or 0 and hasRestarted).
    if (record.direction === 'download') {
      this.bytesReceived = record.progress.bytesReceived;
      this.totalBytesToReceive = record.progress.totalBytesToReceive;
    }
  }

  get stopReason(): StopReason | null {
    return this.#stopReason;
  }

  /** Aborts the request; the first reason wins. */
  stop(reason: StopReason): void {
    if (this.#stopReason !== null) return;
    this.#stopReason = reason;
    const [code, message] = STOP_MESSAGES[reason];
    this.controller.abort(new TransferError(code, message));
  }

  /** The current snapshot without consuming the one-shot flags (for get/list). */
  peekSnapshot(): OperationSnapshot {
    const snapshot = toSnapshot(this.record);
    snapshot.progress = {
      ...snapshot.progress,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      totalBytesToReceive: this.totalBytesToReceive,
      hasRestarted: this.hasRestarted,
      hasResponseChanged: this.hasResponseChanged,
    };
    return snapshot;
  }

  acceptResponse(record: OperationRecord, totalBytesToReceive: number): void {
    this.record = record;
    this.bytesReceived = 0;
    this.totalBytesToReceive = totalBytesToReceive;
    this.hasResponseChanged = true;
  }

  /** The snapshot to publish now; consumes the one-shot flags. */
  takeSnapshot(): OperationSnapshot {
    const snapshot = this.peekSnapshot();
    this.hasResponseChanged = false;
    this.dirty = false;
    return snapshot;
  }
}

/** The API-visible part of a record (drops the engine's own fields). */
export function toSnapshot(record: OperationRecord): OperationSnapshot {
  return {
    guid: record.guid,
    appId: record.appId,
    method: record.method,
    requestedUri: record.requestedUri,
    sourcePath: record.sourcePath,
    group: record.group,
    transferGroup: record.transferGroup,
    costPolicy: record.costPolicy,
    priority: record.priority,
    progress: { ...record.progress },
    responseVersion: record.responseVersion,
    response: record.response === null ? null : cloneResponse(record.response),
    error: record.error,
    createdAtMs: record.createdAtMs,
    contentDigest: record.extras.contentDigest,
    direction: record.direction,
    resultPath: record.resultPath,
    ...(record.direction === 'download'
      ? {
          isRandomAccessRequired: record.extras.isRandomAccessRequired,
          recoverableWebErrorStatuses: [...record.extras.recoverableWebErrorStatuses],
          expectedContentDigest: record.extras.expectedContentDigest,
        }
      : {}),
  };
}

function cloneResponse(response: ResponseSnapshot): ResponseSnapshot {
  return { ...response, headers: response.headers.map(([name, value]) => [name, value]) };
}
