import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileBody } from '../../src/source/body-source.ts';
import { DigestingBody } from '../../src/source/digesting-body.ts';
import { inspectSourceFile, RING_CHUNKS } from '../../src/source/file-source.ts';
import { ThreadedSha256 } from '../../src/source/hash-worker.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/** The SHA-256 of a whole body, from the reads an upload makes anyway, whatever order they come in. */

const MIB = 1024 * 1024;
let dir: TempDir;
let file: RandomFile;
let content: Buffer;
let expected: string;

before(async () => {
  dir = await makeTempDir('digesting-body-test-');
  file = await writeRandomFile(dir.path, 'body.bin', 13 * MIB + 777);
  content = await readFile(file.path);
  expected = `sha-256=:${createHash('sha256').update(content).digest('base64')}:`;
});
after(async () => {
  await dir.cleanup();
});

/** Both ways of hashing: inline (small bodies) and on the hashing thread (big ones, forced here). */
const MODES = [
  { name: 'inline', threadMinBytes: Number.POSITIVE_INFINITY },
  { name: 'on the hashing thread', threadMinBytes: 1 },
];

function body(threadMinBytes: number): DigestingBody {
  return new DigestingBody(fileBody(inspectSourceFile(file.path)), { threadMinBytes });
}

async function drain(iterable: AsyncIterable<Uint8Array>, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of iterable) {
    // Copied: the file source reuses its read buffers once the consumer is a chunk further on.
    chunks.push(Buffer.from(chunk));
    length += chunk.byteLength;
    if (length >= limit) break;
  }
  return Buffer.concat(chunks);
}

for (const { name, threadMinBytes } of MODES) {
  test(`${name}: one read from 0 to the end gives the digest, in RFC 9530 form; the bytes pass unchanged`, async () => {
    const digesting = body(threadMinBytes);
    assert.equal(digesting.value, null, 'unknown before the body was read');
    const sent = await drain(digesting.read(0));
    assert.ok(sent.equals(content));
    await digesting.settled();
    assert.equal(digesting.value, expected);
  });

  test(`${name}: re-sent chunks (tus chunks, a cut request sent again) are hashed once`, async () => {
    const digesting = body(threadMinBytes);
    await drain(digesting.read(0, 2 * MIB), 2 * MIB);
    await drain(digesting.read(MIB, 3 * MIB), 2 * MIB);
    await drain(digesting.read(0));
    await digesting.settled();
    assert.equal(digesting.value, expected);
  });

  test(`${name}: a resumed read re-reads the already-sent prefix to hash it, and sends only from its start`, async () => {
    const digesting = body(threadMinBytes);
    const start = 3 * MIB + 5;
    const sent = await drain(digesting.read(start));
    assert.ok(sent.equals(content.subarray(start)), 'only the rest is sent');
    await digesting.settled();
    assert.equal(digesting.value, expected);
  });

  test(`${name}: complete() reads what is missing (a digest needed before the body)`, async () => {
    const digesting = body(threadMinBytes);
    await drain(digesting.read(0), MIB);
    assert.equal(await digesting.complete(), expected);
    const sent = await drain(digesting.read(0));
    assert.ok(sent.equals(content));
    await digesting.settled();
    assert.equal(digesting.value, expected);
  });
}

test('a busy hashing thread: a lent buffer is hashed before it is refilled (later pieces go as copies)', async () => {
  // The thread hashes jobs in order: 128 MiB of another job first keeps it busy for a while (about
  // 0.1 s), long enough for a consumer that does not wait to read past the RING_CHUNKS read buffers.
  const blocker = new ThreadedSha256();
  blocker.update(new Uint8Array(new SharedArrayBuffer(128 * MIB)));
  assert.ok(content.byteLength > (RING_CHUNKS + 2) * MIB, 'the body is longer than the ring');
  const digesting = body(1);
  const sent = await drain(digesting.read(0));
  blocker.drop();
  assert.ok(sent.equals(content));
  await digesting.settled();
  assert.equal(digesting.value, expected);
});

test('an empty body has the digest of no bytes at once', () => {
  const empty = new DigestingBody({ size: 0, read: async function* () {} });
  assert.equal(empty.value, `sha-256=:${createHash('sha256').digest('base64')}:`);
});
