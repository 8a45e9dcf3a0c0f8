import type { OperationSnapshot } from '../core/snapshot.ts';

/**
 * Uploads and downloads look alike to the commands; what differs is which counters measure the
 * transfer and which local file it concerns. This is the one place that tells them apart.
 */
export type TransferKind = 'upload' | 'download';

export function kindOf(snapshot: OperationSnapshot): TransferKind {
  return 'direction' in snapshot && snapshot.direction === 'download' ? 'download' : 'upload';
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
  if (kindOf(snapshot) === 'download') {
    return 'resultPath' in snapshot && typeof snapshot.resultPath === 'string' ? snapshot.resultPath : null;
  }
  return snapshot.sourcePath;
}
