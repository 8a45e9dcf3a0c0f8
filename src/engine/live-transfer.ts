import type { OperationSnapshot, ResponseSnapshot } from '../core/snapshot.ts';
import type { OperationRecord } from '../store/operation-record.ts';

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
  /** R38/R39 flags are true in exactly one notification: cleared once published. */
  hasRestarted: boolean;
  hasResponseChanged = false;
  lastPersistMs = 0;
  done: Promise<void> = Promise.resolve();

  constructor(record: OperationRecord) {
    this.record = record;
    this.hasRestarted = record.progress.hasRestarted;
  }

  acceptResponse(record: OperationRecord, totalBytesToReceive: number): void {
    this.record = record;
    this.bytesReceived = 0;
    this.totalBytesToReceive = totalBytesToReceive;
    this.hasResponseChanged = true;
  }

  /** The snapshot to publish now; consumes the one-shot flags. */
  takeSnapshot(): OperationSnapshot {
    const snapshot = toSnapshot(this.record);
    snapshot.progress = {
      ...snapshot.progress,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      totalBytesToReceive: this.totalBytesToReceive,
      hasRestarted: this.hasRestarted,
      hasResponseChanged: this.hasResponseChanged,
    };
    this.hasRestarted = false;
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
  };
}

function cloneResponse(response: ResponseSnapshot): ResponseSnapshot {
  return { ...response, headers: response.headers.map(([name, value]) => [name, value]) };
}
