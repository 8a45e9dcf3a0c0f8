import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, stat } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { SqliteOperationStore } from '../../src/store/sqlite-store.ts';
import { newOperation } from '../helpers/store-fixtures.ts';
import { runStoreContract } from './store-contract.ts';

let root = '';
let counter = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'bgtransfer-group-commit-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

function freshPath(): string {
  counter += 1;
  return join(root, `store-${counter}.db`);
}

const failOnCommitError = { onError: (error: unknown) => assert.fail(`commit failed: ${String(error)}`) };

/** What another connection (the CLI, or the next host after a crash) sees on disk. */
function statusOnDisk(path: string, guid: string): number | undefined {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare<[string], { status: number }>('SELECT status FROM operations WHERE guid = ?').get(guid)?.status;
  } finally {
    db.close();
  }
}

function responseOnDisk(path: string, guid: string): string | null | undefined {
  const db = new Database(path, { readonly: true });
  try {
    const row = db.prepare<[string], { responseJson: string | null }>(
      'SELECT responseJson FROM operations WHERE guid = ?',
    );
    return row.get(guid)?.responseJson;
  } finally {
    db.close();
  }
}

runStoreContract('SqliteOperationStore with group commit', () =>
  SqliteOperationStore.open(freshPath(), { groupCommit: failOnCommitError }),
);

describe('SqliteOperationStore group commit', () => {
  it('commits a turn of writes together at the end of the turn, and afterCommit waits for that', async () => {
    const path = freshPath();
    const store = SqliteOperationStore.open(path, { groupCommit: failOnCommitError });
    try {
      store.insertOperation(newOperation({ guid: 'a' }));
      store.insertOperation(newOperation({ guid: 'b' }));
      const running = store.moveToRunning('a');
      assert.equal(
        store.getOperation('a')?.progress.status,
        running?.progress.status,
        'the store reads its own writes',
      );
      assert.equal(statusOnDisk(path, 'a'), undefined, 'nothing is committed before the turn ends');
      const seen: Array<number | undefined> = [];
      store.afterCommit(() => seen.push(statusOnDisk(path, 'a'), statusOnDisk(path, 'b')));
      assert.deepEqual(seen, [], 'afterCommit waits for the commit');
      await nextTurn();
      assert.equal(seen.length, 2);
      assert.equal(seen[0], running?.progress.status);
      assert.notEqual(seen[1], undefined);
      let ranAtOnce = false;
      store.afterCommit(() => {
        ranAtOnce = true;
      });
      assert.ok(ranAtOnce, 'with nothing pending, afterCommit runs at once');
    } finally {
      store.close();
    }
  });

  it('a final answer read in an I/O callback is on disk before the next I/O callback runs', async () => {
    const path = freshPath();
    const store = SqliteOperationStore.open(path, { groupCommit: failOnCommitError });
    try {
      store.insertOperation(newOperation({ guid: 'r' }));
      store.moveToRunning('r');
      // As the host reads an answer's headers: in an I/O callback; its body comes in a later one.
      const onDisk = await new Promise<string | null | undefined>((resolve) => {
        stat(path, () => {
          const answer = {
            statusCode: 201,
            actualUri: 'https://example.test/upload/1',
            isResumable: false,
            headers: [],
          };
          assert.ok(store.recordResponse('r', answer, 0));
          stat(path, () => resolve(responseOnDisk(path, 'r')));
        });
      });
      assert.match(onDisk ?? '', /"statusCode":201/);
    } finally {
      store.close();
    }
  });

  it('close() commits what is pending', () => {
    const path = freshPath();
    const store = SqliteOperationStore.open(path, { groupCommit: failOnCommitError });
    store.insertOperation(newOperation({ guid: 'c' }));
    store.close();
    assert.notEqual(statusOnDisk(path, 'c'), undefined);
  });

  it('a failed write inside the turn keeps the others, and the duplicate is reported as before', async () => {
    const path = freshPath();
    const store = SqliteOperationStore.open(path, { groupCommit: failOnCommitError });
    try {
      store.insertOperation(newOperation({ guid: 'd' }));
      assert.throws(() => store.insertOperation(newOperation({ guid: 'd' })), { code: 'BT_ERR_INVALID_ARGUMENT' });
      store.insertOperation(newOperation({ guid: 'e' }));
      await nextTurn();
      assert.notEqual(statusOnDisk(path, 'd'), undefined);
      assert.notEqual(statusOnDisk(path, 'e'), undefined);
    } finally {
      store.close();
    }
  });
});
