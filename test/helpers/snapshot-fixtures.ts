import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import type { OperationSnapshot } from '../../src/core/snapshot.ts';

/** A completed upload's snapshot as a host sends it: the valid case the checks of host frames start from. */
export const COMPLETED_UPLOAD: OperationSnapshot = {
  guid: 'g-1',
  appId: 'app',
  method: 'PUT',
  requestedUri: 'https://example.test/u/1',
  sourcePath: '/data/1.bin',
  group: null,
  transferGroup: null,
  costPolicy: 0,
  priority: 0,
  progress: {
    bytesSent: 10,
    totalBytesToSend: 10,
    bytesReceived: 0,
    totalBytesToReceive: 0,
    status: BackgroundTransferStatus.completed,
    hasResponseChanged: true,
    hasRestarted: false,
  },
  responseVersion: 1,
  response: {
    statusCode: 201,
    actualUri: 'https://example.test/u/1',
    isResumable: false,
    headers: [['content-length', '0']],
  },
  error: null,
  createdAtMs: 1_700_000_000_000,
  contentDigest: 'sha-256=:abc=:',
  direction: 'upload',
  resultPath: null,
};
