import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { BackgroundTransferStatus as S } from '../../src/core/enums.ts';
import { DEFAULT_EXTRAS, type OperationExtras } from '../../src/core/operation-extras.ts';
import { homeLayout, responseBodyPath } from '../../src/core/paths.ts';
import { recoverInterrupted } from '../../src/engine/recovery.ts';
import { MemoryOperationStore } from '../../src/store/memory-store.ts';
import type { OperationStore } from '../../src/store/operation-store.ts';
import { newOperation, RESPONSE } from '../helpers/store-fixtures.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';

/**
 * What a new engine does with operations a dead process left running (docs/delivery-guarantees.md):
 * a stored 2xx completes, a POST still being created is created again, a plain POST is terminated (R12).
 */

let temp: TempDir;
before(async () => {
  temp = await makeTempDir('recovery-');
  mkdirSync(homeLayout(temp.path).responses, { recursive: true });
});
after(() => temp.cleanup());

function running(store: OperationStore, guid: string, method: string, extras: Partial<OperationExtras> = {}): void {
  store.insertOperation(newOperation({ guid, method, extras: { ...DEFAULT_EXTRAS, ...extras } }));
  assert.ok(store.moveToRunning(guid));
}

test('a running upload whose 2xx answer was stored completes; its body is truncated unless all of it is on disk', () => {
  const store = new MemoryOperationStore();
  running(store, 'cut', 'POST');
  store.recordResponse('cut', RESPONSE, 100);
  writeFileSync(responseBodyPath(temp.path, 'cut'), 'x'.repeat(10));
  running(store, 'whole', 'PUT');
  store.recordResponse('whole', RESPONSE, 100);
  writeFileSync(responseBodyPath(temp.path, 'whole'), 'x'.repeat(100));
  running(store, 'failed-answer', 'PUT');
  store.recordResponse('failed-answer', { ...RESPONSE, statusCode: 503 }, 0);

  const counts = recoverInterrupted(store, temp.path);
  assert.deepEqual(counts, { completed: 2, restarted: 1, resumed: 0, terminated: 0 });
  const cut = store.getOperation('cut');
  assert.equal(cut?.progress.status, S.completed);
  assert.equal(cut?.response?.bodyTruncated, true);
  assert.equal(cut?.progress.bytesReceived, 10);
  const whole = store.getOperation('whole');
  assert.equal(whole?.progress.status, S.completed);
  assert.equal(whole?.response?.bodyTruncated, undefined);
  assert.equal(store.getOperation('failed-answer')?.progress.status, S.idle, 'a 503 is no verdict: restarted');
});

test('a POST still being created (creationPending) is created again with hasRestarted; a plain POST is terminated', () => {
  const store = new MemoryOperationStore();
  running(store, 'creating', 'POST', { creationPending: true });
  running(store, 'plain', 'POST');
  running(store, 'resumable', 'POST', { session: { protocol: 'tus', uploadUrl: 'https://example.test/files/1' } });

  const counts = recoverInterrupted(store, temp.path);
  assert.deepEqual(counts, { completed: 0, restarted: 1, resumed: 1, terminated: 1 });
  const creating = store.getOperation('creating');
  assert.equal(creating?.progress.status, S.idle);
  assert.equal(creating?.progress.hasRestarted, true);
  assert.equal(store.getOperation('plain')?.error?.code, 'BT_ERR_POST_TERMINATED');
  assert.equal(store.getOperation('resumable')?.progress.status, S.idle);
});
