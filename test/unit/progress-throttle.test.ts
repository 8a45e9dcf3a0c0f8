import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROGRESS_INTERVAL_MS, ProgressThrottle } from '../../src/protocols/http/progress-throttle.ts';

/**
 * A request's progress reporter: at most one report per interval, a held-back value reported when the
 * interval ends, the exact value on flush, and nothing at all once closed. The last matters because
 * undici may go on pulling a request body after the request was answered (an early 401 whose request
 * is then sent again): a late report of the answered request would land after, and below, the progress
 * of the request that replaced it.
 */

test('reports at most once per interval, the held-back value when it ends, the exact one on flush', async () => {
  const reports: number[] = [];
  const throttle = new ProgressThrottle((value) => reports.push(value));
  throttle.update(10);
  throttle.update(20);
  throttle.update(30);
  assert.deepEqual(reports, [10]);
  await sleep(PROGRESS_INTERVAL_MS * 3);
  assert.deepEqual(reports, [10, 30]);
  // The interval is over: reported at once; then the exact value.
  throttle.update(40);
  throttle.update(42);
  throttle.flush(45);
  assert.deepEqual(reports, [10, 30, 40, 45]);
});

test('after close nothing is reported: neither a held-back value, nor a later update or flush', async () => {
  const reports: number[] = [];
  const throttle = new ProgressThrottle((value) => reports.push(value));
  throttle.update(10);
  throttle.update(20);
  throttle.flush(25);
  throttle.close();
  throttle.update(30);
  throttle.update(40);
  throttle.flush(50);
  await sleep(PROGRESS_INTERVAL_MS * 3);
  assert.deepEqual(reports, [10, 25]);
});
