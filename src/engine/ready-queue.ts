import { BackgroundTransferBehavior, BackgroundTransferPriority } from '../core/enums.ts';
import type { OperationRecord } from '../store/operation-record.ts';

/** What the scheduler needs of a queued operation. */
export interface QueueEntry {
  guid: string;
  seq: number;
  priority: number;
  notBeforeMs: number;
  costPolicy: number;
  /** Set for operations in a Serialized transfer group (R30). */
  serializedGroup: string | null;
}

/**
 * R31: High goes near the front, Default to the end, Low near the end. One sorted list per priority
 * rank, ordered by queue sequence; inserts find their place by binary search, so a queue of 10,000
 * operations is scheduled without re-reading or re-sorting the store.
 */
const RANKS = [BackgroundTransferPriority.high, BackgroundTransferPriority.default, BackgroundTransferPriority.low];

export function queueEntry(record: OperationRecord): QueueEntry {
  const group = record.transferGroup;
  return {
    guid: record.guid,
    seq: record.seq,
    priority: record.priority,
    notBeforeMs: record.notBeforeMs,
    costPolicy: record.costPolicy,
    serializedGroup:
      group && group.transferBehavior === BackgroundTransferBehavior.serialized
        ? `${record.appId}\u0000${group.name}`
        : null,
  };
}

export class ReadyQueue {
  readonly #lists = new Map<number, QueueEntry[]>(RANKS.map((rank) => [rank, []]));
  readonly #byGuid = new Map<string, QueueEntry>();

  get size(): number {
    return this.#byGuid.size;
  }

  has(guid: string): boolean {
    return this.#byGuid.has(guid);
  }

  /** Adds or replaces (priority, sequence or back-off changed). */
  upsert(entry: QueueEntry): void {
    this.remove(entry.guid);
    const list = this.#list(entry.priority);
    list.splice(insertionIndex(list, entry.seq), 0, entry);
    this.#byGuid.set(entry.guid, entry);
  }

  remove(guid: string): void {
    const entry = this.#byGuid.get(guid);
    if (!entry) return;
    this.#byGuid.delete(guid);
    const list = this.#list(entry.priority);
    const index = insertionIndex(list, entry.seq) - 1;
    if (list[index]?.guid === guid) list.splice(index, 1);
    else list.splice(list.indexOf(entry), 1);
  }

  /**
   * The operations to start now, best first: at most `slots`, whose back-off has passed and that
   * `admit` accepts (it sees the picks so far, e.g. to keep one per Serialized group). Also returns
   * when the earliest delayed one becomes ready.
   */
  pick(
    slots: number,
    nowMs: number,
    admit: (entry: QueueEntry, picked: readonly QueueEntry[]) => boolean,
  ): { ready: QueueEntry[]; nextWakeMs: number | undefined } {
    const ready: QueueEntry[] = [];
    let nextWakeMs: number | undefined;
    for (const rank of RANKS) {
      for (const entry of this.#list(rank)) {
        if (ready.length >= slots) return { ready, nextWakeMs };
        if (entry.notBeforeMs > nowMs) {
          nextWakeMs = nextWakeMs === undefined ? entry.notBeforeMs : Math.min(nextWakeMs, entry.notBeforeMs);
          continue;
        }
        if (admit(entry, ready)) ready.push(entry);
      }
    }
    return { ready, nextWakeMs };
  }

  #list(priority: number): QueueEntry[] {
    return this.#lists.get(priority) ?? (this.#lists.get(BackgroundTransferPriority.default) as QueueEntry[]);
  }
}

/** First index whose seq is greater than `seq`. */
function insertionIndex(list: readonly QueueEntry[], seq: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((list[middle]?.seq ?? 0) <= seq) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * R32: the chosen member and the ones after it move to the front of their group. The group's queue
 * positions (sequences, ascending) are handed out again in the rotated order, so the group keeps its
 * place among other operations. Returns [guid, newSeq] pairs.
 */
export function rotateGroup(
  members: ReadonlyArray<{ guid: string; seq: number }>,
  chosen: string,
): Array<readonly [string, number]> {
  const index = members.findIndex((member) => member.guid === chosen);
  if (index < 0) return [];
  const reordered = [...members.slice(index), ...members.slice(0, index)];
  return reordered.map((member, position) => [member.guid, members[position]?.seq ?? member.seq] as const);
}
