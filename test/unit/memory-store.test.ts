import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BackgroundTransferBehavior } from '../../src/core/enums.ts';
import { MemoryOperationStore } from '../../src/store/memory-store.ts';
import { newOperation } from '../helpers/store-fixtures.ts';
import { runStoreContract } from './store-contract.ts';

runStoreContract('MemoryOperationStore', () => new MemoryOperationStore());

describe('MemoryOperationStore', () => {
  it('remembers transfer groups per app; upsert updates, insertOperation only adds (R26, R27)', () => {
    const store = new MemoryOperationStore();
    const serialized = { name: 'tg', transferBehavior: BackgroundTransferBehavior.serialized };
    store.insertOperation(newOperation({ transferGroup: serialized }));
    assert.deepEqual(store.getTransferGroup('app.a', 'tg'), serialized);
    store.insertOperation(
      newOperation({
        guid: 'op-2',
        transferGroup: { name: 'tg', transferBehavior: BackgroundTransferBehavior.parallel },
      }),
    );
    assert.deepEqual(store.getTransferGroup('app.a', 'tg'), serialized, 'an insert never rewrites the group');
    store.upsertTransferGroup('app.a', { name: 'tg', transferBehavior: BackgroundTransferBehavior.parallel });
    assert.equal(store.getTransferGroup('app.a', 'tg')?.transferBehavior, BackgroundTransferBehavior.parallel);
    assert.equal(store.getTransferGroup('app.b', 'tg'), undefined);
    store.close();
  });

  it('uses the injected clock for updatedAtMs', () => {
    let now = 1000;
    const store = new MemoryOperationStore({ now: () => now });
    assert.equal(store.insertOperation(newOperation()).updatedAtMs, 1000);
    now = 2500;
    assert.equal(store.moveToRunning('op-1')?.updatedAtMs, 2500);
    store.close();
  });
});
