import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listLine } from '../../src/cli/list-line.ts';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import type { OperationSnapshot } from '../../src/core/snapshot.ts';
import { COMPLETED_UPLOAD } from '../helpers/snapshot-fixtures.ts';

/**
 * `bgtransfer list --json` lines are written as text (list-line.ts); they must be the very text that
 * JSON.stringify wrote of the line object before, field for field and in the same order, for uploads,
 * downloads, failed operations and strings that need escaping.
 */

function upload(overrides: Partial<OperationSnapshot> = {}): OperationSnapshot {
  return { ...COMPLETED_UPLOAD, ...overrides };
}

/** The line object as the command built it before it was written as text (docs/api/cli.md). */
function reference(snapshot: OperationSnapshot, statusName: string, requestedUri: string): string {
  const { bytesSent, totalBytesToSend, ...received } = snapshot.progress;
  return JSON.stringify({
    guid: snapshot.guid,
    direction: snapshot.direction,
    ...(snapshot.direction === 'download' ? received : { bytesSent, totalBytesToSend, ...received }),
    statusName,
    method: snapshot.method,
    requestedUri,
    group: snapshot.group,
    createdAt: new Date(snapshot.createdAtMs).toISOString(),
    ...(snapshot.error ? { error: { code: snapshot.error.code, message: snapshot.error.message } } : {}),
  });
}

test('a completed upload: every field, in order, as JSON.stringify writes it', () => {
  const snapshot = upload();
  const line = listLine(snapshot);
  assert.equal(line, reference(snapshot, 'completed', snapshot.requestedUri));
  assert.deepEqual(Object.keys(JSON.parse(line)), [
    'guid',
    'direction',
    'bytesSent',
    'totalBytesToSend',
    'bytesReceived',
    'totalBytesToReceive',
    'status',
    'hasResponseChanged',
    'hasRestarted',
    'statusName',
    'method',
    'requestedUri',
    'group',
    'createdAt',
  ]);
});

test('a download has no bytesSent or totalBytesToSend', () => {
  const snapshot = upload({
    direction: 'download',
    method: 'GET',
    progress: {
      ...upload().progress,
      bytesReceived: 7,
      totalBytesToReceive: 9,
      status: BackgroundTransferStatus.running,
    },
  });
  const line = listLine(snapshot);
  assert.equal(line, reference(snapshot, 'running', snapshot.requestedUri));
  assert.equal('bytesSent' in JSON.parse(line), false);
});

test('a failed upload carries its error; strings that need escaping are escaped as before', () => {
  const snapshot = upload({
    guid: 'g"\\\n\u0001',
    method: 'P\u2028T',
    group: 'a "group"\twith \ud800 a lone surrogate',
    progress: { ...upload().progress, status: BackgroundTransferStatus.error, hasRestarted: true },
    error: { code: 'BT_ERR_HTTP_STATUS', message: 'the server answered 500: "nope"\r\n\u00e9' },
  });
  assert.equal(listLine(snapshot), reference(snapshot, 'error', snapshot.requestedUri));
  assert.deepEqual(JSON.parse(listLine(snapshot)).error, snapshot.error);
});

test('the URI is redacted and an unknown status is named as the table names it', () => {
  const snapshot = upload({
    requestedUri: 'https://user:secret@example.test/u?X-Amz-Signature=abc&part=2',
    progress: { ...upload().progress, status: 99 as BackgroundTransferStatus },
  });
  const line = listLine(snapshot);
  assert.equal(line, reference(snapshot, 'status 99', 'https://***@example.test/u?X-Amz-Signature=***&part=2'));
  assert.doesNotMatch(line, /secret|abc/);
});
