import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { DownloadHashing } from '../../src/engine/download-hashing.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const digest = (algorithm: 'sha256' | 'sha512', data: Buffer): string =>
  `${algorithm === 'sha256' ? 'sha-256' : 'sha-512'}=:${createHash(algorithm).update(data).digest('base64')}:`;

test('hashed while written: a fresh body gives every known algorithm its digest, shared by equal algorithms', () => {
  const body = randomBytes(300_000);
  const server = digest('sha512', body);
  const app = digest('sha256', body);
  const hashing = new DownloadHashing();
  const sink = hashing.sinkFor(true, [server, app, app]);
  assert.ok(sink);
  sink.update(body.subarray(0, 1000));
  sink.update(body.subarray(1000));
  assert.equal(`sha-512=:${hashing.digestOf(server, body.length)}:`, server);
  assert.equal(`sha-256=:${hashing.digestOf(app, body.length)}:`, app);
  assert.equal(`sha-256=:${hashing.digestOf(app, body.length)}:`, app, 'read twice (server and app, same algorithm)');
  assert.equal(hashing.digestOf(app, body.length + 1), null, 'not over exactly the file: the caller reads it');
  assert.equal(new DownloadHashing().sinkFor(true, [null, undefined]), null, 'nothing to hash');
});

test('a continued file: the prefix on disk is hashed first; an algorithm not primed is left to a read', async (t) => {
  const dir = await makeTempDir('bgtransfer-hashing-');
  t.after(() => dir.cleanup());
  const body = randomBytes(200_000);
  const path = join(dir.path, 'partial');
  // Bytes past the offset are not trusted and must not be hashed.
  await writeFile(path, Buffer.concat([body.subarray(0, 70_000), Buffer.from('not trusted')]));
  const app = digest('sha256', body);
  const hashing = new DownloadHashing();
  await hashing.prime(path, 70_000, [null, app]);
  const sink = hashing.sinkFor(false, [digest('sha512', body), app]);
  assert.ok(sink);
  sink.update(body.subarray(70_000));
  assert.equal(`sha-256=:${hashing.digestOf(app, body.length)}:`, app);
  assert.equal(hashing.digestOf(digest('sha512', body), body.length), null);
});
