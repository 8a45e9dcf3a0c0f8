import type { CompletionUpdate, OperationRecord } from './operation-record.ts';
import { assertProgress } from './store-guards.ts';

/**
 * The in-memory store's side of moveToCompleted's `final`: what recordProgress and updateExtras would
 * have stored, applied to the record as it moves (the SQLite store does it in the move's UPDATE).
 * Checked before anything moves.
 */
export function applyCompletion(final: CompletionUpdate | undefined): (record: OperationRecord) => void {
  if (final === undefined) return () => undefined;
  assertProgress(final.progress);
  const extras = final.extras === undefined ? undefined : structuredClone(final.extras);
  return (record) => {
    record.progress.bytesSent = final.progress.bytesSent;
    record.progress.bytesReceived = final.progress.bytesReceived;
    record.progress.totalBytesToReceive = final.progress.totalBytesToReceive;
    record.progress.hasRestarted = false;
    record.progress.hasResponseChanged = false;
    if (extras !== undefined) record.extras = extras;
  };
}
