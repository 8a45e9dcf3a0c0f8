import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BackgroundTransferStatus as S } from '../../src/core/enums.ts';
import { DEFAULT_EXTRAS, type OperationExtras } from '../../src/core/operation-extras.ts';
import type { OperationStore } from '../../src/store/operation-store.ts';
import { newOperation } from '../helpers/store-fixtures.ts';

/** Schema v2: status-only events, acknowledged offsets, extras and completion groups, for every store. */
export function runExtrasContract(store: () => OperationStore): void {
  describe('status-only events (pause, network, cost: R50, R53)', () => {
    it('pause from idle and running, resume back to the queue', () => {
      store().insertOperation(newOperation({ guid: 'p' }));
      assert.equal(store().applyEvent('p', 'pause')?.progress.status, S.pausedByApplication);
      assert.equal(store().applyEvent('p', 'pause'), null, 'already paused');
      assert.equal(store().applyEvent('p', 'resume')?.progress.status, S.idle);
      store().moveToRunning('p');
      assert.equal(store().applyEvent('p', 'pause')?.progress.status, S.pausedByApplication);
    });

    it('network loss and metered blocking pause; networkAllowed queues again', () => {
      store().insertOperation(newOperation({ guid: 'n' }));
      store().moveToRunning('n');
      assert.equal(store().applyEvent('n', 'loseNetwork')?.progress.status, S.pausedNoNetwork);
      assert.equal(store().applyEvent('n', 'meteredBlocked')?.progress.status, S.pausedCostedNetwork);
      assert.equal(store().applyEvent('n', 'networkAllowed')?.progress.status, S.idle);
      assert.equal(store().applyEvent('n', 'resume'), null, 'resume only from pausedByApplication');
    });

    it('a finished operation accepts no event', () => {
      store().insertOperation(newOperation({ guid: 'f' }));
      store().moveToCanceled('f');
      for (const event of ['pause', 'resume', 'loseNetwork', 'meteredBlocked', 'networkAllowed'] as const) {
        assert.equal(store().applyEvent('f', event), null, event);
      }
    });
  });

  describe('acknowledged offset and extras', () => {
    it('records the acknowledged offset while live, never after the end', () => {
      store().insertOperation(newOperation({ guid: 'a', sourceSize: 10_000 }));
      store().recordAcknowledged('a', 4096);
      assert.equal(store().getOperation('a')?.ackOffset, 4096);
      store().moveToCanceled('a');
      store().recordAcknowledged('a', 8192);
      assert.equal(store().getOperation('a')?.ackOffset, 4096);
    });

    it('a completion stores the last counters and extras with it; without them it keeps the stored ones', () => {
      store().insertOperation(newOperation({ guid: 'c1', sourceSize: 4096 }));
      store().moveToRunning('c1');
      store().recordResponse(
        'c1',
        { statusCode: 201, actualUri: 'https://x.test/', isResumable: false, headers: [] },
        7,
      );
      const extras: OperationExtras = { ...DEFAULT_EXTRAS, contentDigest: 'sha-256=:AAAA:' };
      const progress = { bytesSent: 4096, bytesReceived: 7, totalBytesToReceive: 7 };
      const done = store().moveToCompleted('c1', { progress, extras });
      assert.equal(done?.progress.status, S.completed);
      const stored = store().getOperation('c1');
      assert.deepEqual(
        [stored?.progress.bytesSent, stored?.progress.bytesReceived, stored?.progress.totalBytesToReceive],
        [4096, 7, 7],
      );
      assert.equal(stored?.progress.hasResponseChanged, false);
      assert.equal(stored?.extras.contentDigest, 'sha-256=:AAAA:');
      assert.equal(store().moveToCompleted('c1', { progress: { ...progress, bytesSent: 1 } }), null, 'already ended');
      assert.equal(store().getOperation('c1')?.progress.bytesSent, 4096, 'a refused move stores nothing');

      store().insertOperation(newOperation({ guid: 'c2', sourceSize: 4096 }));
      store().moveToRunning('c2');
      store().recordProgress('c2', { bytesSent: 100, bytesReceived: 0, totalBytesToReceive: 0 });
      store().moveToCompleted('c2');
      assert.equal(store().getOperation('c2')?.progress.bytesSent, 100);
      assert.equal(store().getOperation('c2')?.extras.contentDigest, null);
    });

    it('markInterrupted(restart) drops the counters and flags the restart; without restart it changes nothing', () => {
      store().insertOperation(newOperation({ guid: 'i', sourceSize: 10_000 }));
      store().moveToRunning('i');
      store().recordProgress('i', { bytesSent: 5000, bytesReceived: 0, totalBytesToReceive: 0 });
      store().applyEvent('i', 'pause');
      store().markInterrupted('i', false);
      assert.equal(store().getOperation('i')?.progress.bytesSent, 5000);
      store().markInterrupted('i', true);
      const record = store().getOperation('i');
      assert.equal(record?.progress.bytesSent, 0);
      assert.equal(record?.progress.hasRestarted, true);
      assert.equal(record?.progress.status, S.pausedByApplication);
    });

    it("markInterrupted with the stopped request's counters stores them in a paused status; restart still wins", () => {
      store().insertOperation(newOperation({ guid: 'ic', sourceSize: 10_000 }));
      store().moveToRunning('ic');
      store().recordProgress('ic', { bytesSent: 0, bytesReceived: 1000, totalBytesToReceive: 9000 });
      store().applyEvent('ic', 'pause');
      store().markInterrupted('ic', false, { bytesSent: 0, bytesReceived: 4096, totalBytesToReceive: 9000 });
      let record = store().getOperation('ic');
      assert.equal(record?.progress.bytesReceived, 4096);
      assert.equal(record?.progress.totalBytesToReceive, 9000);
      assert.equal(record?.progress.hasRestarted, false);
      store().markInterrupted('ic', true, { bytesSent: 0, bytesReceived: 8192, totalBytesToReceive: 9000 });
      record = store().getOperation('ic');
      assert.equal(record?.progress.bytesReceived, 0);
      assert.equal(record?.progress.hasRestarted, true);
    });

    it('extras round-trip whole, secrets included (the file is 0600)', () => {
      const extras: OperationExtras = {
        ...DEFAULT_EXTRAS,
        body: {
          kind: 'multipart',
          subType: 'form-data',
          boundary: 'b0undary',
          parts: [
            {
              name: 'f',
              fileName: 'a.bin',
              headers: [['X-A', '1']],
              text: null,
              file: { path: '/a', size: 3, mtimeMs: 1.5, ino: 9 },
            },
            { name: 't', fileName: null, headers: [], text: 'hello', file: null },
          ],
        },
        resumeProtocol: 'tus',
        session: { protocol: 'tus', uploadUrl: 'https://example.test/files/1' },
        serverCredential: { userName: 'u', password: 'p' },
        completionGroupId: 'cg-1',
      };
      store().insertOperation(newOperation({ guid: 'x', extras }));
      assert.deepEqual(store().getOperation('x')?.extras, extras);
      const changed = { ...extras, session: null, probedPlain: true };
      assert.deepEqual(store().updateExtras('x', changed)?.extras, changed);
      assert.deepEqual(store().getOperation('x')?.extras, changed);
      assert.equal(store().updateExtras('missing', changed), null);
    });

    it('an operation inserted without extras gets the defaults', () => {
      store().insertOperation(newOperation({ guid: 'd' }));
      assert.deepEqual(store().getOperation('d')?.extras, DEFAULT_EXTRAS);
    });
  });

  describe('queue positions and limits (R28, R29, R32)', () => {
    it('setSequences reorders; counts see live operations and groups of one app only', () => {
      store().insertOperation(newOperation({ guid: 'q1' }));
      store().insertOperation(newOperation({ guid: 'q2', transferGroup: { name: 'g', transferBehavior: 0 } }));
      store().insertOperation(newOperation({ guid: 'q3', appId: 'app.b' }));
      store().setSequences([
        ['q1', 20],
        ['q2', 10],
      ]);
      assert.deepEqual(
        store()
          .listOperations('app.a', { kind: 'all' })
          .map((r) => r.guid),
        ['q2', 'q1'],
      );
      assert.equal(store().countLiveOperations('app.a'), 2);
      store().moveToCanceled('q1');
      assert.equal(store().countLiveOperations('app.a'), 1);
      assert.equal(store().countLiveOperations('app.b'), 1);
      assert.deepEqual([...store().liveTransferGroupNames('app.a')], ['g']);
      assert.equal(store().liveTransferGroupNames('app.b').size, 0);
      store().moveToCanceled('q2');
      assert.equal(store().liveTransferGroupNames('app.a').size, 0, 'a group whose uploads ended no longer counts');
    });
  });

  it('the live count follows inserts and ends, and a refused end changes nothing', () => {
    assert.equal(store().countLiveOperations('app.a'), 0);
    for (const guid of ['l1', 'l2', 'l3', 'l4']) store().insertOperation(newOperation({ guid }));
    assert.equal(store().countLiveOperations('app.a'), 4);
    store().moveToRunning('l1');
    store().applyEvent('l4', 'pause');
    assert.equal(store().countLiveOperations('app.a'), 4, 'running and paused count as unfinished');
    store().moveToCompleted('l1');
    store().moveToFailed('l2', { code: 'BT_ERR_HTTP_STATUS', message: 'no' });
    store().moveToCanceled('l3');
    assert.equal(store().countLiveOperations('app.a'), 1);
    assert.equal(store().moveToCanceled('l1'), null);
    assert.equal(store().moveToCompleted('l2'), null);
    assert.equal(store().countLiveOperations('app.a'), 1, 'a refused move does not count');
    assert.deepEqual(
      store().countByStatus('app.a'),
      new Map([
        [S.completed, 1],
        [S.error, 1],
        [S.canceled, 1],
        [S.pausedByApplication, 1],
      ]),
    );
    assert.equal(store().countByStatus('app.b').size, 0);
    assert.equal(store().hasStatus([S.pausedByApplication, S.running]), true);
    assert.equal(store().hasStatus([S.running, S.idle]), false);
    store().moveToCanceled('l4');
    assert.equal(store().countLiveOperations('app.a'), 0);
  });

  describe('completion groups (R78–R81)', () => {
    const task = { command: '/bin/true', args: ['x'], cwd: null };

    it('enable once, fire once, list members', () => {
      store().createCompletionGroup({ id: 'g1', appId: 'app.a', task });
      assert.deepEqual(store().getCompletionGroup('g1'), {
        id: 'g1',
        appId: 'app.a',
        task,
        enabled: false,
        firedAtMs: null,
      });
      assert.deepEqual(store().listPendingCompletionGroups(), [], 'not enabled: never pending (R80)');
      assert.equal(store().enableCompletionGroup('g1'), true);
      assert.equal(store().enableCompletionGroup('g1'), false, 'a second enable is refused (R80)');
      assert.equal(store().enableCompletionGroup('nope'), false);
      assert.deepEqual(
        store()
          .listPendingCompletionGroups()
          .map((g) => g.id),
        ['g1'],
      );
      store().insertOperation(newOperation({ guid: 'm1', extras: { ...DEFAULT_EXTRAS, completionGroupId: 'g1' } }));
      store().insertOperation(newOperation({ guid: 'm2', extras: { ...DEFAULT_EXTRAS, completionGroupId: 'g1' } }));
      store().insertOperation(newOperation({ guid: 'other' }));
      assert.deepEqual(
        store()
          .listCompletionGroupMembers('g1')
          .map((r) => r.guid),
        ['m1', 'm2'],
      );
      assert.equal(store().markCompletionGroupFired('g1'), true);
      assert.equal(store().markCompletionGroupFired('g1'), false, 'fires once (R81)');
      assert.deepEqual(store().listPendingCompletionGroups(), []);
      assert.equal(typeof store().getCompletionGroup('g1')?.firedAtMs, 'number');
      assert.equal(store().markBatchNotified('batch-1'), true);
      assert.equal(store().markBatchNotified('batch-1'), false, 'a notification is shown once (R74)');
    });
  });
}
