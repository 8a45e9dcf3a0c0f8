import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink, realpath, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { test } from 'node:test';
import { publishResult } from '../../src/engine/download-partial.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

/** This process's descriptors that point at `path` (or at what was there, now deleted). */
async function descriptorsOn(path: string): Promise<string[]> {
  const targets: string[] = [];
  // The kernel names a descriptor's file by its canonical path.
  path = join(await realpath(dirname(path)), basename(path));
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target === path || target === `${path} (deleted)`) targets.push(target);
  }
  return targets;
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let waited = 0; !(await check()); waited += 20) {
    assert.ok(waited < 10_000, what);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * publishResult holds the file it replaces across the rename (so the rename does not free a big file's
 * blocks before the download is reported complete) and lets it go afterwards: the result is the new
 * file, and no descriptor stays on the old one.
 */
test('publishResult replaces an existing result and keeps no descriptor on the replaced file', async (t) => {
  const dir = await makeTempDir('bgtransfer-download-partial-');
  t.after(() => dir.cleanup());
  const result = join(dir.path, 'result.bin');
  const partial = join(dir.path, '.result.bin.partial');
  await writeFile(result, Buffer.alloc(1024 * 1024, 1));
  await writeFile(partial, 'new body');
  await publishResult(partial, result);
  assert.equal(await readFile(result, 'utf8'), 'new body');
  assert.equal(existsSync(partial), false);
  await eventually(async () => (await descriptorsOn(result)).length === 0, 'the replaced file was let go');
});

test('publishResult onto a path where nothing is yet', async (t) => {
  const dir = await makeTempDir('bgtransfer-download-partial-');
  t.after(() => dir.cleanup());
  const result = join(dir.path, 'result.bin');
  const partial = join(dir.path, '.result.bin.partial');
  await writeFile(partial, 'body');
  await publishResult(partial, result);
  assert.equal(await readFile(result, 'utf8'), 'body');
  assert.deepEqual(await descriptorsOn(result), []);
});

/** Holding the replaced file must not open it: opening a FIFO for reading would wait for a writer forever. */
test('publishResult replaces a FIFO without opening it', async (t) => {
  const dir = await makeTempDir('bgtransfer-download-partial-');
  t.after(() => dir.cleanup());
  const result = join(dir.path, 'result.fifo');
  const partial = join(dir.path, '.result.partial');
  execFileSync('mkfifo', [result]);
  await writeFile(partial, 'body');
  await publishResult(partial, result);
  assert.equal(await readFile(result, 'utf8'), 'body');
});
