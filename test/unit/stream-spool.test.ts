import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { TransferError } from '../../src/core/errors.ts';
import { readFileBody } from '../../src/source/file-source.ts';
import { assertUploadStream, fillSpool, removeSpool, spoolStream } from '../../src/source/stream-spool.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';

/**
 * createUploadFromStreamAsync spools its stream to a durable file (docs/api/background-uploader.md): right bytes,
 * owner-only mode, a hard limit, and no partial file left behind on any failure.
 */

let dir: TempDir;
let counter = 0;

before(async () => {
  dir = await makeTempDir('stream-spool-test-');
});

after(async () => {
  await dir.cleanup();
});

/** A fresh spool directory per test, so "nothing left behind" is a plain readdir. */
function spoolDir(): string {
  counter += 1;
  return join(dir.path, `spool-${counter}`);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `count` random chunks of `size` bytes, and their concatenation. */
function randomChunks(count: number, size: number): { chunks: Buffer[]; all: Buffer } {
  const chunks = Array.from({ length: count }, () => randomBytes(size));
  return { chunks, all: Buffer.concat(chunks) };
}

function webStream(chunks: readonly Uint8Array[], failAfter?: Error): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index];
      index += 1;
      if (chunk !== undefined) controller.enqueue(chunk);
      else if (failAfter !== undefined) controller.error(failAfter);
      else controller.close();
    },
  });
}

async function assertSpooled(
  result: Awaited<ReturnType<typeof spoolStream>>,
  directory: string,
  expected: Buffer,
): Promise<void> {
  const stats = await stat(result.path);
  assert.equal(result.size, expected.length);
  assert.equal(result.sha256, sha256(expected));
  assert.ok((await readFile(result.path)).equals(expected));
  assert.equal(stats.mode & 0o777, 0o600);
  assert.equal(result.ino, stats.ino);
  assert.equal(result.mtimeMs, stats.mtimeMs);
  assert.deepEqual(await readdir(directory), [result.path.slice(directory.length + 1)]);
  // The spool is an ordinary upload source: readFileBody accepts the identity it returned.
  const chunks: Buffer[] = [];
  for await (const chunk of readFileBody(result, 0)) chunks.push(Buffer.from(chunk));
  assert.ok(Buffer.concat(chunks).equals(expected));
}

test('a Node Readable is spooled byte for byte, with its sha256 and mode 0600', async () => {
  const directory = spoolDir();
  const { chunks, all } = randomChunks(40, 100_003);
  const result = await spoolStream(Readable.from(chunks), directory, { maxBytes: all.length });
  await assertSpooled(result, directory, all);
});

test('a web ReadableStream is spooled byte for byte', async () => {
  const directory = spoolDir();
  const { chunks, all } = randomChunks(33, 65_537);
  const result = await spoolStream(webStream(chunks), directory, { maxBytes: Number.POSITIVE_INFINITY });
  await assertSpooled(result, directory, all);
});

test('string chunks are spooled as UTF-8, and an empty stream gives an empty file', async () => {
  const directory = spoolDir();
  const text = await spoolStream(Readable.from(['héllo ', 'wörld']), directory, { maxBytes: 100 });
  assert.equal(await readFile(text.path, 'utf8'), 'héllo wörld');
  assert.equal(text.size, Buffer.byteLength('héllo wörld'));
  const nothing = await spoolStream(Readable.from([]), spoolDir(), { maxBytes: 0 });
  assert.equal(nothing.size, 0);
  assert.equal(nothing.sha256, sha256(Buffer.alloc(0)));
});

test('the stream is pulled with backpressure, not read ahead into memory', async () => {
  const directory = spoolDir();
  const chunkBytes = 16 * 1024;
  const total = 64;
  let produced = 0;
  let maxAhead = 0;
  const source = new Readable({
    highWaterMark: chunkBytes,
    read() {
      // How far production runs ahead of what already reached the spool file.
      const [name] = readdirSync(directory);
      const written = name === undefined ? 0 : statSync(join(directory, name)).size;
      maxAhead = Math.max(maxAhead, (produced * chunkBytes - written) / chunkBytes);
      produced += 1;
      this.push(produced <= total ? Buffer.alloc(chunkBytes, produced) : null);
    },
  });
  const result = await spoolStream(source, directory, { maxBytes: total * chunkBytes });
  assert.equal(result.size, total * chunkBytes);
  assert.ok(maxAhead <= 3, `the source ran ${maxAhead} chunks ahead of the writer`);
});

test('past maxBytes: BT_ERR_SPOOL_LIMIT, the source is destroyed and the partial file deleted', async () => {
  const directory = spoolDir();
  const { chunks, all } = randomChunks(10, 50_000);
  const exact = await spoolStream(Readable.from(chunks), directory, { maxBytes: all.length });
  assert.equal(exact.size, all.length, 'exactly maxBytes is allowed');
  await removeSpool(exact.path);

  const source = Readable.from(chunks);
  await assert.rejects(spoolStream(source, directory, { maxBytes: all.length - 1 }), (error: unknown) => {
    assert.ok(error instanceof TransferError);
    assert.equal(error.code, 'BT_ERR_SPOOL_LIMIT');
    assert.match(error.message, new RegExp(String(all.length - 1)));
    return true;
  });
  assert.equal(source.destroyed, true);
  assert.deepEqual(await readdir(directory), []);

  await assert.rejects(spoolStream(webStream(chunks), directory, { maxBytes: 120_000 }), {
    code: 'BT_ERR_SPOOL_LIMIT',
  });
  assert.deepEqual(await readdir(directory), []);
});

test('a stream that errors midway: BT_ERR_IO with the original error as cause, partial file deleted', async () => {
  const directory = spoolDir();
  const original = new Error('producer died');
  const { chunks } = randomChunks(5, 70_000);
  async function* failing(): AsyncGenerator<Buffer> {
    for (const chunk of chunks) yield chunk;
    throw original;
  }
  await assert.rejects(spoolStream(Readable.from(failing()), directory, { maxBytes: 10_000_000 }), (error: unknown) => {
    assert.ok(error instanceof TransferError);
    assert.equal(error.code, 'BT_ERR_IO');
    assert.equal(error.cause, original);
    assert.match(error.message, /producer died/);
    return true;
  });
  assert.deepEqual(await readdir(directory), []);

  const webOriginal = new TypeError('web producer died');
  await assert.rejects(spoolStream(webStream(chunks, webOriginal), directory, { maxBytes: 10_000_000 }), {
    code: 'BT_ERR_IO',
    cause: webOriginal,
  });
  assert.deepEqual(await readdir(directory), []);
});

test('a chunk that is not bytes fails with BT_ERR_INVALID_ARGUMENT and leaves nothing behind', async () => {
  const directory = spoolDir();
  const source = Readable.from([Buffer.from('ok'), { not: 'bytes' }]);
  await assert.rejects(spoolStream(source, directory, { maxBytes: 100 }), { code: 'BT_ERR_INVALID_ARGUMENT' });
  assert.deepEqual(await readdir(directory), []);
});

test('bad maxBytes and an unusable directory fail with coded errors and release the stream', async () => {
  for (const maxBytes of [-1, 1.5, Number.NaN]) {
    const source = Readable.from(['x']);
    await assert.rejects(spoolStream(source, spoolDir(), { maxBytes }), { code: 'BT_ERR_INVALID_ARGUMENT' });
    assert.equal(source.destroyed, true);
  }
  const { path: notADirectory } = await spoolStream(Readable.from(['x']), spoolDir(), { maxBytes: 1 });
  const source = Readable.from(['y']);
  await assert.rejects(spoolStream(source, notADirectory, { maxBytes: 1 }), { code: 'BT_ERR_IO' });
  assert.equal(source.destroyed, true);
  let canceled: unknown = null;
  const web = new ReadableStream<Uint8Array>({
    cancel(reason) {
      canceled = reason;
    },
  });
  await assert.rejects(spoolStream(web, notADirectory, { maxBytes: 1 }), { code: 'BT_ERR_IO' });
  assert.equal((canceled as { code?: string } | null)?.code, 'BT_ERR_IO');
});

test('removeSpool deletes the file and accepts one that is already gone', async () => {
  const directory = spoolDir();
  const result = await spoolStream(Readable.from([Buffer.from('bye')]), directory, { maxBytes: 3 });
  await removeSpool(result.path);
  assert.deepEqual(await readdir(directory), []);
  await removeSpool(result.path);
});

test('fillSpool writes into the file the engine created, never creates one, and empties it on failure', async () => {
  const directory = spoolDir();
  const { chunks, all } = randomChunks(5, 7_000);
  const made = await spoolStream(Readable.from([]), directory, { maxBytes: 0 });
  const filled = await fillSpool(Readable.from(chunks), made.path, { maxBytes: all.length });
  await assertSpooled(filled, directory, all);

  await assert.rejects(fillSpool(Readable.from(chunks), made.path, { maxBytes: all.length - 1 }), {
    code: 'BT_ERR_SPOOL_LIMIT',
  });
  assert.equal(statSync(made.path).size, 0, 'nothing half-written stays in the file');

  const missing = join(directory, 'stream-not-made-by-the-engine.spool');
  await assert.rejects(fillSpool(Readable.from(chunks), missing, { maxBytes: all.length }), { code: 'BT_ERR_IO' });
  assert.deepEqual(readdirSync(directory), [made.path.slice(directory.length + 1)], 'no file was created');
});

test('assertUploadStream takes Node and web streams and refuses a path string with a coded error', () => {
  assertUploadStream(Readable.from([]));
  assertUploadStream(webStream([]));
  assert.throws(
    () => assertUploadStream('/some/path/to/file.bin'),
    (error: unknown) => {
      assert.ok(error instanceof TransferError);
      assert.equal(error.code, 'BT_ERR_INVALID_ARGUMENT');
      assert.match(error.message, /a string \(22 characters\)/);
      return true;
    },
  );
});
