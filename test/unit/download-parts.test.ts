import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { partialPathOf } from '../../src/core/download-paths.ts';
import { TransferError } from '../../src/core/errors.ts';
import { checkResultPath } from '../../src/core/request-checks.ts';
import { promisedDigest, verifyFileDigest } from '../../src/protocols/http/download-digest.ts';
import { parseContentRange, validatorOf } from '../../src/protocols/http/download-request.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

describe('Content-Range', () => {
  it('parses the three forms and refuses anything else', () => {
    assert.deepEqual(parseContentRange('bytes 10-19/100'), { start: 10, end: 19, total: 100 });
    assert.deepEqual(parseContentRange('bytes 0-99/*'), { start: 0, end: 99, total: null });
    assert.deepEqual(parseContentRange('bytes */100'), { start: null, end: null, total: 100 });
    for (const bad of [undefined, '', 'bytes 20-10/100', 'items 0-1/2', 'bytes 1-2', 'bytes 99999999999999999-1/2']) {
      assert.equal(parseContentRange(bad), null, String(bad));
    }
  });
});

describe('If-Range validator', () => {
  it('takes a strong ETag, else Last-Modified, never a weak ETag', () => {
    assert.equal(validatorOf([['ETag', '"abc"']]), '"abc"');
    assert.equal(
      validatorOf([
        ['ETag', 'W/"abc"'],
        ['Last-Modified', 'Mon, 07 Dec 2026 00:00:00 GMT'],
      ]),
      'Mon, 07 Dec 2026 00:00:00 GMT',
    );
    assert.equal(validatorOf([['ETag', 'W/"abc"']]), null);
    assert.equal(validatorOf([]), null);
  });
});

describe('digests', () => {
  const sha256 = createHash('sha256').update('hello').digest('base64');
  const sha512 = createHash('sha512').update('hello').digest('base64');
  const md5 = createHash('md5').update('hello').digest('base64');

  it('prefers Repr-Digest and the strongest algorithm; content digests only for a whole body', () => {
    assert.equal(
      promisedDigest([['Repr-Digest', `sha-256=:${sha256}:, sha-512=:${sha512}:`]], false),
      `sha-512=:${sha512}:`,
    );
    assert.equal(promisedDigest([['Content-Digest', `sha-256=:${sha256}:`]], false), null);
    assert.equal(promisedDigest([['Content-Digest', `sha-256=:${sha256}:`]], true), `sha-256=:${sha256}:`);
    assert.equal(promisedDigest([['Content-MD5', md5]], true), `md5=:${md5}:`);
    assert.equal(promisedDigest([['Repr-Digest', 'unknown=:AAAA:']], true), null);
  });

  it('verifies a file and names both digests on a mismatch', async () => {
    const dir = await makeTempDir('download-digest-');
    try {
      const path = join(dir.path, 'file');
      await writeFile(path, 'hello');
      await verifyFileDigest(path, `sha-256=:${sha256}:`, 'GET http://x/');
      await verifyFileDigest(path, `md5=:${md5}:`, 'GET http://x/');
      await assert.rejects(verifyFileDigest(path, `sha-512=:${sha256}:`, 'GET http://x/'), (error: unknown) => {
        assert.ok(error instanceof TransferError);
        assert.equal(error.code, 'BT_ERR_DIGEST_MISMATCH');
        assert.ok(error.message.includes(sha512) && error.message.includes(sha256));
        return true;
      });
    } finally {
      await dir.cleanup();
    }
  });
});

describe('paths', () => {
  it('puts the partial file beside the result, hidden and named after the operation', () => {
    assert.equal(partialPathOf('/data/out/file.iso', 'g-1'), '/data/out/.file.iso.g-1.bgtransfer-partial');
    const long = partialPathOf(`/d/${'é'.repeat(200)}`, 'g');
    assert.ok(Buffer.byteLength(long.split('/').at(-1) ?? '') <= 255, 'fits a file name');
  });

  it('takes only absolute, normal result paths', () => {
    assert.equal(checkResultPath('/a/b.bin'), '/a/b.bin');
    for (const bad of ['a/b', '/a/../b', '/a/./b', '/a//b', '/a/', '/a/b\0c']) {
      assert.throws(
        () => checkResultPath(bad),
        (error: unknown) => error instanceof TransferError,
        bad,
      );
    }
  });
});
