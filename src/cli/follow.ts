import { isTerminalStatus } from '../core/enums.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import type { TransferPort } from '../ipc/transfer-port.ts';
import type { Connection } from './connection.ts';
import { errorCode } from './exit-codes.ts';

/** With no snapshot for this long, the follower asks the engine itself (is the host still there?). */
const QUIET_PROBE_AFTER_MS = 1_000;
const PROBE_TICK_MS = 250;

export type FollowResult =
  | { kind: 'ended'; snapshot: OperationSnapshot }
  /** The user detached (Ctrl-C); the upload goes on without us. */
  | { kind: 'detached'; snapshot: OperationSnapshot | null };

type WatchOutcome = FollowResult | { kind: 'lost'; port: TransferPort; error: unknown };

/**
 * Follows one operation until it ends (completed, canceled or error), calling `onSnapshot` with every
 * snapshot. The port's watch delivers changes; a probe (`get`) whenever it has been quiet for a second
 * tells a dead host from a slow upload, and then the connection is replaced and the watch starts again —
 * so an attached `upload` or `watch` outlives a host crash.
 */
export async function followOperation(
  connection: Connection,
  appId: string,
  guid: string,
  onSnapshot: (snapshot: OperationSnapshot) => void,
  signal: AbortSignal,
): Promise<FollowResult> {
  let port = await connection.port();
  let last: OperationSnapshot | null = null;
  const deliver = (snapshot: OperationSnapshot): void => {
    last = snapshot;
    onSnapshot(snapshot);
  };
  for (;;) {
    const outcome = await watchUntilEnd(port, appId, guid, deliver, signal);
    if (outcome.kind !== 'lost') return outcome.kind === 'detached' ? { kind: 'detached', snapshot: last } : outcome;
    const replacement = await connection.replace(
      outcome.port,
      outcome.error,
      (next) => next.call('get', appId, { guid }),
      signal,
    );
    if (replacement === null) return { kind: 'detached', snapshot: last };
    port = replacement;
  }
}

function watchUntilEnd(
  port: TransferPort,
  appId: string,
  guid: string,
  deliver: (snapshot: OperationSnapshot) => void,
  signal: AbortSignal,
): Promise<WatchOutcome> {
  return new Promise<WatchOutcome>((resolve, reject) => {
    let settled = false;
    let lastEventAt = performance.now();
    /** Counts watch deliveries, so a probe's answer older than a delivery is dropped (never goes back). */
    let deliveries = 0;
    let probing = false;
    let stop: (() => void) | undefined;

    const finish = (outcome: WatchOutcome | { kind: 'failed'; error: unknown }): void => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      signal.removeEventListener('abort', onAbort);
      stop?.();
      if (outcome.kind === 'failed') reject(outcome.error);
      else resolve(outcome);
    };
    const onSnapshot = (snapshot: OperationSnapshot): void => {
      if (settled) return;
      lastEventAt = performance.now();
      deliveries += 1;
      deliver(snapshot);
      if (isTerminalStatus(snapshot.progress.status)) finish({ kind: 'ended', snapshot });
    };
    const probe = async (): Promise<void> => {
      if (settled || probing || performance.now() - lastEventAt < QUIET_PROBE_AFTER_MS) return;
      probing = true;
      const before = deliveries;
      try {
        const snapshot = await port.call('get', appId, { guid });
        lastEventAt = performance.now();
        if (deliveries === before) onSnapshot(snapshot);
      } catch (error) {
        // An unknown guid is the caller's mistake; anything else means the engine is gone.
        if (errorCode(error) === 'BT_ERR_NOT_FOUND') finish({ kind: 'failed', error });
        else finish({ kind: 'lost', port, error });
      } finally {
        probing = false;
      }
    };
    const onAbort = (): void => finish({ kind: 'detached', snapshot: null });
    const timer = setInterval(() => void probe(), PROBE_TICK_MS);

    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const unsubscribe = port.watch(appId, guid, onSnapshot);
      if (settled) unsubscribe();
      else stop = unsubscribe;
    } catch (error) {
      finish(errorCode(error) === 'BT_ERR_NOT_FOUND' ? { kind: 'failed', error } : { kind: 'lost', port, error });
    }
  });
}
