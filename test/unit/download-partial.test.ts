import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, lstat, readdir, readFile, readlink, realpath, symlink, writeFile } from 'node:fs/promises';
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

/**
 * The partial file is 0600 while it downloads; the result gets the mode a new file would (0666 less the
 * umask), or keeps the mode of the file it replaces, as `curl -o` over an existing file does.
 */
test('the result file gets 0666 less the umask, or the mode of the file it replaces', async (t) => {
  const dir = await makeTempDir('bgtransfer-download-partial-');
  const before = process.umask(0o027);
  t.after(async () => {
    process.umask(before);
    await dir.cleanup();
  });
  const partialOf = async (name: string): Promise<string> => {
    const partial = join(dir.path, `.${name}.partial`);
    await writeFile(partial, 'body', { mode: 0o600 });
    return partial;
  };
  const modeOf = async (path: string): Promise<number> => (await lstat(path)).mode & 0o7777;

  const fresh = join(dir.path, 'fresh.bin');
  await publishResult(await partialOf('fresh'), fresh);
  assert.equal((await modeOf(fresh)).toString(8), '640', 'a new result: 0666 & ~umask');

  const replaced = join(dir.path, 'replaced.bin');
  await writeFile(replaced, 'old');
  await chmod(replaced, 0o604);
  await publishResult(await partialOf('replaced'), replaced);
  assert.equal((await modeOf(replaced)).toString(8), '604', "the replaced file's mode");
  assert.equal(await readFile(replaced, 'utf8'), 'body');

  // A link at the result path is replaced, not followed: its target's mode does not count.
  const target = join(dir.path, 'target.bin');
  await writeFile(target, 'target');
  await chmod(target, 0o666);
  const link = join(dir.path, 'link.bin');
  await symlink(target, link);
  await publishResult(await partialOf('link'), link);
  assert.equal((await modeOf(link)).toString(8), '640');
  assert.equal((await modeOf(target)).toString(8), '666', 'the target is untouched');
});
