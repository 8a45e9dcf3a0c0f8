import type { Config } from '../core/config.ts';
import { TransferError } from '../core/errors.ts';
import type { OperationSpec } from '../core/snapshot.ts';
import type { OperationStore } from '../store/operation-store.ts';

/**
 * R28 (transfer groups per app) and R29 (transfers per app) are settings here, with a clear error when
 * exceeded — never a stuck queue: finished operations do not count.
 */
export function checkLimits(store: OperationStore, config: Config, spec: OperationSpec): void {
  const live = store.countLiveOperations(spec.appId);
  if (live >= config.maxOperationsPerApp) {
    throw new TransferError(
      'BT_ERR_LIMIT_EXCEEDED',
      `app ${spec.appId} already has ${live} unfinished uploads (maxOperationsPerApp ${config.maxOperationsPerApp}, R29)`,
    );
  }
  const group = spec.transferGroup;
  if (!group) return;
  // Groups count while they have unfinished uploads: once all ended, the app may use a new one.
  const groups = store.liveTransferGroupNames(spec.appId);
  if (!groups.has(group.name) && groups.size >= config.maxTransferGroupsPerApp) {
    throw new TransferError(
      'BT_ERR_LIMIT_EXCEEDED',
      `app ${spec.appId} already has ${groups.size} transfer groups with unfinished uploads (maxTransferGroupsPerApp ${config.maxTransferGroupsPerApp}, R28)`,
    );
  }
}
