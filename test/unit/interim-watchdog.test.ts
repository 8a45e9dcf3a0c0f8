import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransferError } from '../../src/core/errors.ts';
import { InterimWatchdog } from '../../src/protocols/ietf/ietf-context.ts';

/**
 * The bound on a storm of 104s (docs/protocols.md, "Bad answers (tus and the draft)"): counted from
 * the first 1xx after the whole body, checked as each later one arrives.
 */
const URL_OF = new URL('http://127.0.0.1:1/target');

function codeOf(run: () => void): string | null {
  try {
    run();
    return null;
  } catch (error) {
    assert.ok(error instanceof TransferError, String(error));
    return error.code;
  }
}

test('1xx before the whole body was handed over are never bounded', async () => {
  const watchdog = new InterimWatchdog(1000, 20, 'POST', URL_OF);
  watchdog.sent(999);
  watchdog.interim();
  await sleep(60);
  assert.equal(
    codeOf(() => watchdog.interim()),
    null,
    'the body is not all out: the server may take its time',
  );
});

test('after the body: 1xx within the timeout of the first pass; a later one is BT_ERR_TIMEOUT naming the count', async () => {
  const watchdog = new InterimWatchdog(1000, 80, 'PATCH', URL_OF);
  watchdog.sent(1000);
  watchdog.interim();
  assert.equal(
    codeOf(() => watchdog.interim()),
    null,
    'the second, at once',
  );
  await sleep(120);
  let error: unknown;
  try {
    watchdog.interim();
  } catch (caught) {
    error = caught;
  }
  assert.ok(error instanceof TransferError);
  assert.equal(error.code, 'BT_ERR_TIMEOUT');
  assert.equal(
    error.message,
    'PATCH http://127.0.0.1:1/target: no final answer within 80 ms after the body, only 3 interim responses',
  );
});

test('the clock starts at the first 1xx after the body, not at the first 1xx', async () => {
  const watchdog = new InterimWatchdog(1000, 80, 'POST', URL_OF);
  watchdog.interim();
  await sleep(120);
  watchdog.sent(1000);
  assert.equal(
    codeOf(() => watchdog.interim()),
    null,
    'the first after the body starts the clock',
  );
  assert.equal(
    codeOf(() => watchdog.interim()),
    null,
  );
});
