import type { Logger } from '../core/logger.ts';
import { protocolOfSession } from '../protocols/registry.ts';
import type { OperationRecord } from '../store/operation-record.ts';
import type { DispatcherPool } from './dispatcher-pool.ts';

/**
 * A canceled resumable upload is removed from the server too (its protocol's `terminate`: a DELETE
 * of the upload resource), so the partial data does not linger there. Best effort: failures are logged,
 * and the cancel does not wait for it.
 */
export function terminateSession(
  record: OperationRecord,
  dispatchers: DispatcherPool,
  timeoutMs: number,
  log: Logger,
): void {
  const session = record.extras.session;
  if (!session) return;
  const requested = new URL(record.requestedUri);
  const protocol = protocolOfSession(requested, session.protocol);
  if (!protocol?.terminate) return;
  protocol
    .terminate({
      session,
      headers: record.headers,
      extras: record.extras,
      dispatcher: dispatchers.get(record.extras),
      signal: AbortSignal.timeout(timeoutMs),
      credentialScope: requested,
    })
    .catch((error: unknown) =>
      log.info({ guid: record.guid, err: error }, 'could not terminate the upload on the server'),
    );
}
