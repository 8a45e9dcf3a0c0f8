import { BackgroundTransferPriority } from '../core/enums.ts';
import type { OperationRecord } from '../store/operation-record.ts';

/**
 * R31: Default-priority operations go to the end of the queue, High near the front, Low near the end.
 * Among queued operations the next to run is the one with the best priority rank, then the oldest.
 */
const RANK: Readonly<Record<number, number>> = {
  [BackgroundTransferPriority.high]: 0,
  [BackgroundTransferPriority.default]: 1,
  [BackgroundTransferPriority.low]: 2,
};

export function compareQueueOrder(a: OperationRecord, b: OperationRecord): number {
  return (RANK[a.priority] ?? 1) - (RANK[b.priority] ?? 1) || a.seq - b.seq;
}

export interface QueuePick {
  /** Operations to start now, best first. */
  ready: OperationRecord[];
  /** When the earliest delayed (retry back-off) operation becomes ready, if any. */
  nextWakeMs: number | undefined;
}

/** Chooses up to `slots` queued operations whose back-off has passed. */
export function pickReady(queued: readonly OperationRecord[], slots: number, nowMs: number): QueuePick {
  let nextWakeMs: number | undefined;
  const eligible: OperationRecord[] = [];
  for (const record of queued) {
    if (record.notBeforeMs <= nowMs) eligible.push(record);
    else nextWakeMs = nextWakeMs === undefined ? record.notBeforeMs : Math.min(nextWakeMs, record.notBeforeMs);
  }
  eligible.sort(compareQueueOrder);
  return { ready: eligible.slice(0, Math.max(0, slots)), nextWakeMs };
}
