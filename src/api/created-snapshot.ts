import { BackgroundTransferStatus } from '../core/enums.ts';
import type { OperationSnapshot, OperationSpec } from '../core/snapshot.ts';

/**
 * The snapshot of an operation created but not started (createUpload / createDownload): nothing is
 * stored yet, so the API shows what the app asked for with idle, zeroed progress.
 */
export function createdSnapshot(spec: OperationSpec, totalBytesToSend: number): OperationSnapshot {
  return {
    guid: spec.guid,
    appId: spec.appId,
    method: spec.method,
    requestedUri: spec.requestedUri,
    sourcePath: spec.sourcePath,
    group: spec.group,
    transferGroup: spec.transferGroup,
    costPolicy: spec.costPolicy,
    priority: spec.priority,
    progress: {
      bytesSent: 0,
      totalBytesToSend,
      bytesReceived: 0,
      totalBytesToReceive: 0,
      status: BackgroundTransferStatus.idle,
      hasResponseChanged: false,
      hasRestarted: false,
    },
    responseVersion: 0,
    response: null,
    error: null,
    createdAtMs: Date.now(),
    contentDigest: null,
    direction: spec.download ? 'download' : 'upload',
    resultPath: spec.download?.resultPath ?? null,
  };
}
