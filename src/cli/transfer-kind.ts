import type { OperationSnapshot, TransferDirection } from '../core/snapshot.ts';

/**
 * Uploads and downloads look alike to the commands; what differs is which counters measure the
 * transfer and which local file it concerns. This is the one place that tells them apart.
 */
export type TransferKind = TransferDirection;

export function kindOf(snapshot: OperationSnapshot): TransferKind {
  return snapshot.direction;
}

/** The bytes the bar shows: the body sent for an upload, the body received for a download. */
export interface Amount {
  done: number;
  /** 0 while unknown (R37). */
  total: number;
}

export function amountOf(snapshot: OperationSnapshot): Amount {
  const { progress } = snapshot;
  return kindOf(snapshot) === 'download'
    ? { done: progress.bytesReceived, total: progress.totalBytesToReceive }
    : { done: progress.bytesSent, total: progress.totalBytesToSend };
}

/** The local file: what an upload sends, or where a download ends up; null for a stream source. */
export function localFileOf(snapshot: OperationSnapshot): string | null {
  return kindOf(snapshot) === 'download' ? snapshot.resultPath : snapshot.sourcePath;
}
