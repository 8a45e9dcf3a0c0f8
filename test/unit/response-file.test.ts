import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createResponseFile } from '../../src/protocols/http/response-file.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

/**
 * The response file's buffer: a socket read is 64 KiB, and a file stream that said "full" after each one
 * made the exchange pause and resume the socket per chunk and write each chunk alone (most of a big GET's
 * CPU in the host). Several chunks must fit, and the bytes must still land in order from `position`.
 */
test('a response file takes several 64 KiB socket reads before asking the socket to pause', async (t) => {
  const dir = await makeTempDir('bgtransfer-response-file-');
  t.after(() => dir.cleanup());
  const path = join(dir.path, 'body');
  const file = createResponseFile(path);
  const chunk = Buffer.alloc(64 * 1024, 1);
  const ready = [file.write(chunk), file.write(chunk), file.write(chunk), file.write(chunk)];
  assert.deepEqual(ready, [true, true, true, true]);
  file.end();
  await once(file, 'close');
  assert.equal((await readFile(path)).byteLength, 4 * chunk.byteLength);

  const continued = createResponseFile(path, chunk.byteLength);
  assert.equal(continued.write(Buffer.alloc(64 * 1024, 2)), true);
  continued.end();
  await once(continued, 'close');
  const bytes = await readFile(path);
  assert.equal(bytes.byteLength, 4 * chunk.byteLength);
  assert.equal(bytes[chunk.byteLength - 1], 1);
  assert.equal(bytes[chunk.byteLength], 2);
  assert.equal(bytes[2 * chunk.byteLength], 1);
});
