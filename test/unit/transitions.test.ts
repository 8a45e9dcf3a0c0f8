import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackgroundTransferStatus as S } from '../../src/core/enums.ts';
import { nextStatus } from '../../src/core/transitions.ts';

test('the lifecycle table allows the normal path idle → running → completed', () => {
  assert.equal(nextStatus(S.idle, 'start'), S.running);
  assert.equal(nextStatus(S.running, 'complete'), S.completed);
  assert.equal(nextStatus(S.running, 'requeue'), S.idle);
});

test('terminal statuses accept no event (R15: nothing changes after completion or cancellation)', () => {
  for (const terminal of [S.completed, S.canceled, S.error]) {
    for (const event of ['start', 'requeue', 'complete', 'fail', 'cancel', 'pause', 'resume'] as const) {
      assert.equal(nextStatus(terminal, event), null, `${terminal} + ${event}`);
    }
  }
});

test('cancel is allowed from every live status (R59)', () => {
  for (const live of [S.idle, S.running, S.pausedByApplication, S.pausedCostedNetwork, S.pausedNoNetwork]) {
    assert.equal(nextStatus(live, 'cancel'), S.canceled);
  }
});

test('complete only from running; start only from idle', () => {
  assert.equal(nextStatus(S.idle, 'complete'), null);
  assert.equal(nextStatus(S.running, 'start'), null);
  assert.equal(nextStatus(S.pausedByApplication, 'start'), null);
});

test('a download paused on a recoverable error waits for the app: resume, cancel or fail, nothing else', () => {
  assert.equal(nextStatus(S.running, 'recoverableError'), S.pausedRecoverableWebErrorStatus);
  assert.equal(nextStatus(S.pausedRecoverableWebErrorStatus, 'resume'), S.idle);
  assert.equal(nextStatus(S.pausedRecoverableWebErrorStatus, 'cancel'), S.canceled);
  assert.equal(nextStatus(S.pausedRecoverableWebErrorStatus, 'fail'), S.error);
  assert.equal(nextStatus(S.pausedRecoverableWebErrorStatus, 'start'), null);
  assert.equal(nextStatus(S.pausedRecoverableWebErrorStatus, 'networkAllowed'), null);
});
