import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TransferPromise } from '../../src/api/transfer-promise.ts';

function controlled() {
  const handlers: Array<(p: number) => void> = [];
  let canceled = 0;
  let resolve!: (v: string) => void;
  const promise = new Promise<string>((r) => {
    resolve = r;
  });
  const transfer = new TransferPromise<string, number>(promise, {
    addProgressHandler: (h) => handlers.push(h),
    cancel: () => {
      canceled += 1;
    },
    queued: Promise.resolve(0),
  });
  return { transfer, handlers, resolve, canceled: () => canceled };
}

test('R4: then(complete, error, progress) registers the progress handler and completes', async () => {
  const { transfer, handlers, resolve } = controlled();
  const seen: number[] = [];
  const chained = transfer.then(
    (value) => `${value}!`,
    () => 'error',
    (p) => seen.push(p),
  );
  for (const h of handlers) h(42);
  resolve('done');
  assert.equal(await chained, 'done!');
  assert.deepEqual(seen, [42]);
});

test('R59: the promise then() returns also has cancel(), which cancels the transfer', () => {
  const { transfer, canceled } = controlled();
  const chained = transfer.then(() => undefined);
  assert.equal(typeof chained.cancel, 'function');
  chained.cancel();
  transfer.cancel();
  assert.equal(canceled(), 2);
});

test('a transfer promise is awaitable', async () => {
  const { transfer, resolve } = controlled();
  resolve('value');
  assert.equal(await transfer, 'value');
});
