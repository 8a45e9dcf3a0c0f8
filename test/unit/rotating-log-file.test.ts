import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RotatingLogFile } from '../../src/host/rotating-log-file.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

test('host.log rotates by size: past logMaxBytes it becomes host.log.1, and only 3 rotated files are kept', async () => {
  const dir = await makeTempDir('bt-log-rotate-');
  try {
    const path = join(dir.path, 'host.log');
    writeFileSync(path, `${'x'.repeat(99)}\n`); // an existing log counts toward the limit
    const file = new RotatingLogFile(path, 1024);
    const line = (index: number): string => `${JSON.stringify({ index, pad: 'y'.repeat(80) })}\n`;
    const lineBytes = Buffer.byteLength(line(10));
    for (let index = 10; index < 90; index += 1) file.write(line(index));
    file.close();

    for (const name of ['host.log', 'host.log.1', 'host.log.2', 'host.log.3']) {
      assert.ok(existsSync(join(dir.path, name)), `${name} exists`);
      assert.ok(statSync(join(dir.path, name)).size <= 1024, `${name} is within the limit`);
    }
    assert.equal(existsSync(join(dir.path, 'host.log.4')), false, 'the oldest file is dropped');
    // No line is split across files; the newest lines are in host.log, older ones in .1, .2, .3.
    const indexes = (name: string): number[] =>
      readFileSync(join(dir.path, name), 'utf8')
        .trim()
        .split('\n')
        .map((text) => (JSON.parse(text) as { index: number }).index);
    const live = indexes('host.log');
    assert.equal(live.at(-1), 89);
    assert.equal(indexes('host.log.1').at(-1), (live[0] ?? 0) - 1);
    const perFile = Math.floor(1024 / lineBytes);
    assert.equal(indexes('host.log.2').length, perFile);
  } finally {
    await dir.cleanup();
  }
});
