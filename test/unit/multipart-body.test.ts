import assert from 'node:assert/strict';
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BackgroundTransferContentPart } from '../../src/api/background-transfer-content-part.ts';
import { StorageFile } from '../../src/api/storage-file.ts';
import {
  generateBoundary,
  multipartContentType,
  validateBoundary,
  validateSubType,
} from '../../src/protocols/multipart/boundary.ts';
import {
  buildMultipartBody,
  type ContentPartSpec,
  planMultipartBody,
} from '../../src/protocols/multipart/multipart-body.ts';
import type { BodySource } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/**
 * The multipart body (R68–R72, RFC 2046 §5.1, RFC 7578): exact framing, exact size without reading files,
 * reads from any offset (a resume continues mid-body), and the checks made before anything is queued.
 */

let dir: TempDir;
/** Larger than readFileBody's 64 KiB chunk and not a multiple of it. */
let big: RandomFile;
let small: RandomFile;
let empty: RandomFile;

before(async () => {
  dir = await makeTempDir('multipart-body-test-');
  big = await writeRandomFile(dir.path, 'big.bin', 200_001);
  small = await writeRandomFile(dir.path, 'small.bin', 777);
  empty = await writeRandomFile(dir.path, 'empty.bin', 0);
});

after(async () => {
  await dir.cleanup();
});

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const buffers: Buffer[] = [];
  for await (const chunk of chunks) buffers.push(Buffer.from(chunk));
  return Buffer.concat(buffers);
}

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

function spec(overrides: Partial<ContentPartSpec>): ContentPartSpec {
  return { name: null, fileName: null, headers: [], text: null, file: null, ...overrides };
}

/** Text, files (large, small, empty), an empty part, unicode names and custom headers. */
function mixedParts(): ContentPartSpec[] {
  const withFile = (name: string, fileName: string, path: string): BackgroundTransferContentPart => {
    const part = new BackgroundTransferContentPart(name, fileName);
    part.setFile(path);
    return part;
  };
  const text = new BackgroundTransferContentPart('caption', undefined);
  text.setText('Grüße, 世界 🌍\r\nsecond line');
  const typed = withFile('File1', 'small.bin', small.path);
  typed.setHeader('Content-Type', 'image/png');
  typed.setHeader('X-Trace', 'abc');
  const disposition = new BackgroundTransferContentPart('ignored');
  disposition.setHeader('content-disposition', 'form-data; name="custom"');
  disposition.setText('custom disposition');
  return [
    withFile('File0', 'fïlé "0".bin', big.path).toSpec(),
    text.toSpec(),
    typed.toSpec(),
    new BackgroundTransferContentPart().toSpec(),
    withFile('名前', 'empty.bin', empty.path).toSpec(),
    disposition.toSpec(),
  ];
}

async function assertSuffixes(body: BodySource, offsets: Iterable<number>): Promise<void> {
  const whole = await collect(body.read(0));
  for (const offset of offsets) {
    const suffix = await collect(body.read(offset));
    assert.ok(suffix.equals(whole.subarray(offset)), `read(${offset}) is not the suffix of read(0)`);
  }
}

describe('framing (R72, RFC 7578)', () => {
  test('a text part and a file part are framed byte for byte as R72 describes', async () => {
    await writeFile(join(dir.path, 'hello.txt'), 'hello\n');
    const file = inspectSourceFile(join(dir.path, 'hello.txt'));
    const { body, contentType } = buildMultipartBody(
      [spec({ name: 'FormData', text: 'a=1' }), spec({ name: 'File0', fileName: 'hello.txt', file })],
      'form-data',
      'XyZ',
    );
    const expected =
      '--XyZ\r\nContent-Disposition: form-data; name="FormData"\r\n\r\na=1\r\n' +
      '--XyZ\r\nContent-Disposition: form-data; name="File0"; filename="hello.txt"\r\n' +
      'Content-Type: application/octet-stream\r\n\r\nhello\n\r\n' +
      '--XyZ--\r\n';
    assert.equal(contentType, 'multipart/form-data; boundary=XyZ');
    assert.equal(body.size, Buffer.byteLength(expected));
    assert.equal((await collect(body.read(0))).toString('latin1'), Buffer.from(expected).toString('latin1'));
  });

  test('names escape " CR LF as %22 %0D %0A; non-ASCII names are raw UTF-8 (RFC 7578 §4.2)', async () => {
    const { body } = buildMultipartBody(
      [spec({ name: 'a"b\r\nc', fileName: 'Ωmega "x".txt', text: '' })],
      'form-data',
      'b',
    );
    const bytes = await collect(body.read(0));
    const line = Buffer.from(
      'Content-Disposition: form-data; name="a%22b%0D%0Ac"; filename="Ωmega %22x%22.txt"',
      'utf8',
    );
    assert.ok(bytes.includes(line), bytes.toString('utf8'));
    assert.ok(bytes.includes(Buffer.from([0xce, 0xa9])), 'Ω is sent as its UTF-8 bytes CE A9');
  });

  test('custom headers: Content-Disposition replaces the generated one, Content-Type the file default', async () => {
    const { body } = buildMultipartBody(mixedParts(), 'form-data', 'bnd');
    const text = (await collect(body.read(0))).toString('utf8');
    assert.ok(text.includes('\r\ncontent-disposition: form-data; name="custom"\r\n\r\ncustom disposition\r\n'));
    assert.ok(!text.includes('name="ignored"'));
    assert.ok(text.includes('filename="small.bin"\r\nContent-Type: image/png\r\nX-Trace: abc\r\n\r\n'));
    assert.equal(text.match(/application\/octet-stream/g)?.length, 2, 'default only for the two untyped files');
    // The empty part: a delimiter, no headers, the blank line, no content.
    assert.ok(text.includes('--bnd\r\n\r\n\r\n--bnd\r\n'));
    assert.ok(text.endsWith('\r\n--bnd--\r\n'));
  });

  test('another subtype only changes the media type (R70); a boundary with a space is quoted', () => {
    const parts = [spec({ name: 'x', text: 'y' })];
    const related = buildMultipartBody(parts, 'related', 'abc');
    assert.equal(related.contentType, 'multipart/related; boundary=abc');
    assert.equal(buildMultipartBody(parts, 'form-data', 'a b:c').contentType, 'multipart/form-data; boundary="a b:c"');
    assert.equal(multipartContentType('mixed', "it's"), "multipart/mixed; boundary=it's");
  });
});

describe('size and offsets', () => {
  test('size is exact for mixes of text, files, empty parts, unicode names and custom headers', async () => {
    const parts = mixedParts();
    const { body } = buildMultipartBody(parts, 'form-data', generateBoundary());
    const bytes = await collect(body.read(0));
    assert.equal(body.size, bytes.length);
    assert.ok(body.size > big.size + small.size);
    for (const subset of [parts.slice(0, 1), parts.slice(1, 2), parts.slice(3, 4), parts.slice(4)]) {
      const one = buildMultipartBody(subset, 'related', 'q');
      assert.equal(one.body.size, (await collect(one.body.read(0))).length);
    }
  });

  test('the size is computed without reading files (a plan needs no I/O)', () => {
    const ghost = { path: join(dir.path, 'does-not-exist'), size: 10_000, mtimeMs: 0, ino: 0 };
    const plan = planMultipartBody([spec({ name: 'f', fileName: 'g', file: ghost })], 'b');
    const framing = '--b\r\nContent-Disposition: form-data; name="f"; filename="g"\r\n'.length;
    assert.equal(plan.size, framing + 'Content-Type: application/octet-stream\r\n\r\n'.length + 10_000 + 9);
  });

  test('read(k) equals the suffix of read(0) for every k of a small body', async () => {
    const parts = [
      spec({ name: 'a', text: 'αβγ' }),
      spec({ name: 'f', fileName: 'small.bin', file: inspectSourceFile(small.path) }),
      spec({}),
      spec({ name: 'e', fileName: 'empty.bin', file: inspectSourceFile(empty.path) }),
    ];
    const { body } = buildMultipartBody(parts, 'form-data', 'k');
    await assertSuffixes(
      body,
      Array.from({ length: body.size + 1 }, (_, k) => k),
    );
  });

  test('read(k) equals the suffix of read(0) at each segment boundary ±1 and inside large files', async () => {
    const parts = mixedParts();
    const boundary = generateBoundary();
    const plan = planMultipartBody(parts, boundary);
    const { body } = buildMultipartBody(parts, 'form-data', boundary);
    assert.ok(plan.segments.some((segment) => segment.kind === 'file' && segment.length === 0));
    const offsets = new Set<number>([0, 1, body.size - 1, body.size]);
    for (const segment of plan.segments) {
      for (const edge of [segment.offset, segment.offset + segment.length]) {
        for (const k of [edge - 1, edge, edge + 1]) if (k >= 0 && k <= body.size) offsets.add(k);
      }
      if (segment.kind === 'file' && segment.length > 65_536) {
        for (const inside of [65_535, 65_536, 65_537, 131_072, segment.length - 1])
          offsets.add(segment.offset + inside);
      }
    }
    await assertSuffixes(
      body,
      [...offsets].sort((a, b) => a - b),
    );
  });

  test('offsets outside 0..size are rejected with BT_ERR_INVALID_ARGUMENT', () => {
    const { body } = buildMultipartBody([spec({ name: 'a', text: 'b' })], 'form-data', 'c');
    for (const bad of [-1, body.size + 1, 1.5, Number.NaN]) {
      assert.equal(
        errorCode(() => body.read(bad)),
        'BT_ERR_INVALID_ARGUMENT',
        String(bad),
      );
    }
  });

  test('a file that changed size after the upload was created fails with BT_ERR_SOURCE_CHANGED', async () => {
    const path = join(dir.path, 'changing.bin');
    await writeFile(path, Buffer.alloc(1000, 1));
    const part = new BackgroundTransferContentPart('f', 'changing.bin');
    part.setFile(StorageFile.fromPath(path));
    const { body } = buildMultipartBody([spec({ name: 't', text: 'x' }), part.toSpec()], 'form-data', 'z');
    const sizeBefore = body.size;
    await appendFile(path, 'more');
    assert.equal(body.size, sizeBefore, 'the size stays what was recorded');
    await assert.rejects(collect(body.read(0)), { code: 'BT_ERR_SOURCE_CHANGED' });
    await assert.rejects(collect(body.read(3)), { code: 'BT_ERR_SOURCE_CHANGED' });
    await rm(path);
    await assert.rejects(collect(body.read(0)), { code: 'BT_ERR_SOURCE_CHANGED' });
  });
});

describe('validation', () => {
  test('boundaries: 1–70 RFC 2046 bchars, not ending with a space', () => {
    for (const good of ['a', 'x'.repeat(70), "'()+_,-./:=?", 'with space inside', generateBoundary()]) {
      assert.equal(validateBoundary(good), good);
    }
    for (const bad of ['', 'x'.repeat(71), 'ends with space ', 'quote"', 'semi;colon', 'é', '\r\n', 42, null]) {
      assert.equal(
        errorCode(() => validateBoundary(bad)),
        'BT_ERR_INVALID_ARGUMENT',
        String(bad),
      );
    }
    assert.equal(
      errorCode(() => buildMultipartBody([spec({ text: 'x' })], 'form-data', 'bad"')),
      'BT_ERR_INVALID_ARGUMENT',
    );
  });

  test('generated boundaries are random, at least 24 characters and valid tokens', () => {
    const seen = new Set(Array.from({ length: 100 }, () => generateBoundary()));
    assert.equal(seen.size, 100);
    for (const boundary of seen) {
      assert.ok(boundary.length >= 24 && boundary.length <= 70, boundary);
      assert.match(boundary, /^[0-9A-Za-z_-]+$/);
    }
  });

  test('subtypes are RFC 9110 tokens', () => {
    for (const good of ['form-data', 'related', 'mixed', 'x.vnd+y']) assert.equal(validateSubType(good), good);
    for (const bad of ['', 'form data', 'a/b', 'q"', 7, undefined]) {
      assert.equal(
        errorCode(() => validateSubType(bad)),
        'BT_ERR_INVALID_ARGUMENT',
        String(bad),
      );
    }
  });

  test('no parts, text and file in one spec (R68), or text containing the delimiter are rejected', () => {
    const file = inspectSourceFile(small.path);
    const cases: ContentPartSpec[][] = [
      [],
      [spec({ name: 'x', text: 'y', file })],
      [spec({ name: 'x', text: 'before\r\n--b\r\nafter' })],
      [spec({ name: 'x', text: '--b at the start' })],
    ];
    for (const parts of cases) {
      assert.equal(
        errorCode(() => buildMultipartBody(parts, 'form-data', 'b')),
        'BT_ERR_INVALID_ARGUMENT',
      );
    }
    assert.equal(buildMultipartBody([spec({ text: 'a--b in the middle' })], 'form-data', 'b').body.size > 0, true);
  });
});

describe('BackgroundTransferContentPart', () => {
  test('R68: setFile after setText and setText after setFile throw BT_ERR_ILLEGAL_STATE citing R68', () => {
    const text = new BackgroundTransferContentPart('t');
    text.setText('one');
    text.setText('two');
    assert.throws(() => text.setFile(small.path), { code: 'BT_ERR_ILLEGAL_STATE', message: /R68/ });
    assert.equal(text.toSpec().text, 'two');
    assert.equal(text.toSpec().file, null);

    const file = new BackgroundTransferContentPart('f');
    file.setFile(small.path);
    file.setFile(StorageFile.fromPath(big.path));
    assert.throws(() => file.setText('x'), { code: 'BT_ERR_ILLEGAL_STATE', message: /R68/ });
    const fileSpec = file.toSpec();
    assert.equal(fileSpec.text, null);
    assert.equal(fileSpec.file?.size, big.size);
  });

  test('toSpec records the names, headers and file identity; a file part defaults its fileName', () => {
    const part = new BackgroundTransferContentPart('File0');
    part.setFile({ path: small.path });
    part.setHeader('X-One', ' 1 ');
    part.setHeader('X-Two', '2');
    part.setHeader('x-one', 'replaced');
    part.setHeader('X-Unicode', 'filename*=ü 世界');
    const result = part.toSpec();
    assert.equal(result.name, 'File0');
    assert.equal(result.fileName, 'small.bin');
    assert.deepEqual(result.headers, [
      ['x-one', 'replaced'],
      ['X-Two', '2'],
      ['X-Unicode', 'filename*=ü 世界'],
    ]);
    assert.deepEqual(result.file, inspectSourceFile(small.path));
    assert.deepEqual(new BackgroundTransferContentPart().toSpec(), spec({}));
    assert.equal(new BackgroundTransferContentPart('n', '').toSpec().fileName, '');
  });

  test('bad headers, names and files fail with coded errors', async () => {
    const part = new BackgroundTransferContentPart('p');
    assert.throws(() => part.setHeader('Bad Name', 'v'), { code: 'BT_ERR_INVALID_HEADER' });
    assert.throws(() => part.setHeader('X-A', 'line\r\nInjected: 1'), { code: 'BT_ERR_INVALID_HEADER' });
    assert.throws(() => part.setHeader('X-A', 'nul\0'), { code: 'BT_ERR_INVALID_HEADER' });
    assert.throws(() => part.setText(5 as unknown as string), { code: 'BT_ERR_INVALID_ARGUMENT' });
    assert.throws(() => new BackgroundTransferContentPart(5 as unknown as string), {
      code: 'BT_ERR_INVALID_ARGUMENT',
    });
    assert.throws(() => part.setFile(5 as unknown as string), { code: 'BT_ERR_INVALID_ARGUMENT' });

    const missing = new BackgroundTransferContentPart('m');
    missing.setFile(join(dir.path, 'missing.bin'));
    assert.throws(() => missing.toSpec(), { code: 'BT_ERR_FILE_NOT_FOUND' });
    const folder = join(dir.path, 'folder');
    await mkdir(folder);
    const directory = new BackgroundTransferContentPart('d');
    directory.setFile(folder);
    assert.throws(() => directory.toSpec(), { code: 'BT_ERR_NOT_A_FILE' });
  });
});
