import { isTerminalStatus } from './enums.ts';
import type { OperationSnapshot } from './snapshot.ts';

/**
 * Two snapshots of one operation as one, for a receiver that is sent only the latter: the newest
 * state, but never a terminal one replaced by a later non-terminal one, and never a one-shot flag lost
 * (R38, R39). Progress is a level, not a log, so the skipped one loses nothing else. Used where pushes
 * are held back: a slow reader (the host's socket server), a start with its watch (the host and its client).
 */
export function coalesceSnapshots(older: OperationSnapshot | undefined, newer: OperationSnapshot): OperationSnapshot {
  if (older === undefined) return newer;
  if (isTerminalStatus(older.progress.status) && !isTerminalStatus(newer.progress.status)) return older;
  return {
    ...newer,
    progress: {
      ...newer.progress,
      hasRestarted: older.progress.hasRestarted || newer.progress.hasRestarted,
      hasResponseChanged: older.progress.hasResponseChanged || newer.progress.hasResponseChanged,
    },
  };
}
