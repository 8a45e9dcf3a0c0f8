import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TransferError } from '../../src/core/errors.ts';
import {
  RESPONSE_FILE_HIGH_WATER_MARK,
  ResponseFile,
  type ResponseFileEvents,
} from '../../src/protocols/http/response-file.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

/** What a ResponseFile reported: bytes written, a hash of the chunks in the order reported, drains, errors. */
function recorder(): ResponseFileEvents & {
  bytes: number;
  hash: ReturnType<typeof createHash>;
  drains: number;
  errors: TransferError[];
} {
  const seen = {
    bytes: 0,
    hash: createHash('sha256'),
    drains: 0,
    errors: [] as TransferError[],
    onWritten(chunks: readonly Buffer[], bytes: number) {
      for (const chunk of chunks) seen.hash.update(chunk);
      seen.bytes += bytes;
    },
    onDrain() {
      seen.drains += 1;
    },
    onError(error: TransferError) {
      seen.errors.push(error);
    },
  };
  return seen;
}

/**
 * The response file's queue: a socket read is 64 KiB, and a file that said "full" after each one made
 * the exchange pause and resume the socket per chunk and write each chunk alone (most of a big GET's CPU
 * in the host). Several chunks must fit, and the bytes must still land in order from `position`.
 */
test('a response file takes several 64 KiB socket reads before asking the socket to pause', async (t) => {
  const dir = await makeTempDir('bgtransfer-response-file-');
  t.after(() => dir.cleanup());
  const path = join(dir.path, 'body');
  const events = recorder();
  const file = new ResponseFile(path, events);
  const chunk = Buffer.alloc(64 * 1024, 1);
  const ready = [file.write(chunk), file.write(chunk), file.write(chunk), file.write(chunk)];
  assert.deepEqual(ready, [true, true, true, true]);
  await file.end();
  assert.equal(file.closed, true);
  assert.equal((await readFile(path)).byteLength, 4 * chunk.byteLength);
  assert.equal(events.bytes, 4 * chunk.byteLength);

  const continued = new ResponseFile(path, recorder(), chunk.byteLength);
  assert.equal(continued.write(Buffer.alloc(64 * 1024, 2)), true);
  await continued.end();
  const bytes = await readFile(path);
  assert.equal(bytes.byteLength, 4 * chunk.byteLength);
  assert.equal(bytes[chunk.byteLength - 1], 1);
  assert.equal(bytes[chunk.byteLength], 2);
  assert.equal(bytes[2 * chunk.byteLength], 1);
});

test('past the limit, write says pause; drain follows; what is reported written is what the file holds', async (t) => {
  const dir = await makeTempDir('bgtransfer-response-file-');
  t.after(() => dir.cleanup());
  const path = join(dir.path, 'body');
  const events = recorder();
  const file = new ResponseFile(path, events);
  const chunks = Array.from({ length: RESPONSE_FILE_HIGH_WATER_MARK / (64 * 1024) + 1 }, (_, i) =>
    Buffer.alloc(64 * 1024, i),
  );
  const ready = chunks.map((chunk) => file.write(chunk));
  assert.equal(ready.at(-1), false, 'over the limit: pause the socket');
  for (let waited = 0; events.drains === 0; waited += 10) {
    assert.ok(waited < 30_000, 'drained');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await file.end();
  const onDisk = await readFile(path);
  assert.ok(onDisk.equals(Buffer.concat(chunks)));
  assert.equal(events.hash.digest('hex'), createHash('sha256').update(onDisk).digest('hex'));
  assert.deepEqual(events.errors, []);
});

test('a path that cannot be opened is BT_ERR_IO naming it; end still settles', async (t) => {
  const dir = await makeTempDir('bgtransfer-response-file-');
  t.after(() => dir.cleanup());
  const events = recorder();
  const file = new ResponseFile(dir.path, events);
  file.write(Buffer.alloc(10));
  await file.end();
  assert.equal(events.errors.length, 1);
  assert.equal(events.errors[0]?.code, 'BT_ERR_IO');
  assert.match(events.errors[0]?.message ?? '', /cannot write the response body to/);
  assert.equal(events.bytes, 0);
});
