import assert from 'node:assert/strict';
import { appendFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHECKPOINT_INTERVAL_MS, Checkpoints } from '../../src/engine/download-checkpoints.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

/**
 * `finish` starts the final fsync beside a checkpoint that may still be under way (begun before the last
 * writes). Whichever ends first, the size reported last and returned is the whole file, and the sizes
 * reported never go back. The file is made big enough that the timer's checkpoint is likely still
 * fsyncing when the last bytes come and `finish` is called.
 */
test('finish returns and reports the whole file last, with a checkpoint under way or not', async (t) => {
  const dir = await makeTempDir('bgtransfer-checkpoints-');
  t.after(() => dir.cleanup());
  const path = join(dir.path, 'partial');
  await writeFile(path, '');
  for (let round = 0; round < 3; round++) {
    const reported: number[] = [];
    const checkpoints = new Checkpoints({
      partialPath: path,
      onDurable: (size) => reported.push(size),
      stallTimeoutMs: 0,
      onStall: () => assert.fail('no stall expected'),
      describe: () => 'test download',
    });
    const started = performance.now();
    checkpoints.start();
    await appendFile(path, Buffer.alloc(32 * 1024 * 1024, round));
    const untilTimer = CHECKPOINT_INTERVAL_MS + 5 - (performance.now() - started);
    if (untilTimer > 0) await new Promise((resolve) => setTimeout(resolve, untilTimer));
    await appendFile(path, 'last bytes');
    const whole = (await stat(path)).size;
    const durable = await checkpoints.finish();
    assert.equal(durable, whole);
    assert.equal(reported.at(-1), whole, `reported ${reported.join(', ')}`);
    for (let i = 1; i < reported.length; i++) {
      assert.ok((reported[i] ?? 0) >= (reported[i - 1] ?? 0), `never back: ${reported.join(', ')}`);
    }
  }
});
