import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { removeStaleResponseFile } from '../../src/protocols/http/response-file.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';

/** After an empty answer, an earlier attempt's response body must not be read as this answer's. */
let dir: TempDir;
before(async () => {
  dir = await makeTempDir('stale-response-');
});
after(async () => {
  await dir.cleanup();
});

test('nothing there: done, nothing made', () => {
  const path = join(dir.path, 'missing.body');
  assert.equal(removeStaleResponseFile(path), null);
  assert.equal(existsSync(path), false);
});

test("an earlier attempt's body is removed", () => {
  const path = join(dir.path, 'old.body');
  writeFileSync(path, 'the previous answer');
  assert.equal(removeStaleResponseFile(path), null);
  assert.equal(existsSync(path), false);
});

test('a link is removed, never followed; a dangling one too', () => {
  const target = join(dir.path, 'target.txt');
  writeFileSync(target, 'not ours to delete');
  const link = join(dir.path, 'linked.body');
  symlinkSync(target, link);
  assert.equal(removeStaleResponseFile(link), null);
  assert.equal(lstatSync(link, { throwIfNoEntry: false }), undefined);
  assert.equal(readFileSync(target, 'utf8'), 'not ours to delete');
  const dangling = join(dir.path, 'dangling.body');
  symlinkSync(join(dir.path, 'nowhere'), dangling);
  assert.equal(removeStaleResponseFile(dangling), null);
  assert.equal(lstatSync(dangling, { throwIfNoEntry: false }), undefined);
});

test('something that cannot be removed (a directory) is BT_ERR_IO', () => {
  const path = join(dir.path, 'a-directory.body');
  mkdirSync(path);
  const error = removeStaleResponseFile(path);
  assert.equal(error?.code, 'BT_ERR_IO');
  assert.match(error?.message ?? '', /cannot remove the old response body/);
});
