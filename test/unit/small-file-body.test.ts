import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFile, readFile, rename, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { readSmallFileBody, SMALL_BODY_BYTES } from '../../src/source/small-file-body.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/** Small bodies are read in one synchronous read, with the same checks as the streamed file body. */
let dir: TempDir;
before(async () => {
  dir = await makeTempDir('small-file-body-');
});
after(async () => {
  await dir.cleanup();
});

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

async function rejectsChanged(chunks: AsyncIterable<Uint8Array>, detail: RegExp): Promise<void> {
  await assert.rejects(collect(chunks), (error: { code?: string; message?: string }) => {
    assert.equal(error.code, 'BT_ERR_SOURCE_CHANGED');
    assert.match(error.message ?? '', detail);
    return true;
  });
}

describe('readSmallFileBody', () => {
  it('yields the whole file, or the range asked for, byte for byte', async () => {
    const file = await writeRandomFile(dir.path, 'whole.bin', 4096);
    const content = await readFile(file.path);
    const source = inspectSourceFile(file.path);
    assert.deepEqual(await collect(readSmallFileBody(source)), content);
    assert.deepEqual(await collect(readSmallFileBody(source, 1000)), content.subarray(1000));
    assert.deepEqual(await collect(readSmallFileBody(source, 1000, 3000)), content.subarray(1000, 3000));
    assert.equal((await collect(readSmallFileBody(source, 4096))).length, 0);
  });

  it('an empty file yields nothing', async () => {
    const path = join(dir.path, 'empty.bin');
    await writeFile(path, '');
    assert.equal((await collect(readSmallFileBody(inspectSourceFile(path)))).length, 0);
  });

  it('a file that grew, shrank, was touched, replaced or removed is refused with BT_ERR_SOURCE_CHANGED', async () => {
    const grown = await writeRandomFile(dir.path, 'grown.bin', 2048);
    const grownSource = inspectSourceFile(grown.path);
    await appendFile(grown.path, 'x');
    await rejectsChanged(readSmallFileBody(grownSource), /yields more than the 2048 bytes/);

    const shrunk = await writeRandomFile(dir.path, 'shrunk.bin', 2048);
    const shrunkSource = inspectSourceFile(shrunk.path);
    await writeFile(shrunk.path, Buffer.alloc(100));
    await rejectsChanged(readSmallFileBody(shrunkSource), /differs from when the upload was queued/);

    const touched = await writeRandomFile(dir.path, 'touched.bin', 2048);
    const touchedSource = inspectSourceFile(touched.path);
    await utimes(touched.path, new Date(), new Date(Date.now() + 5000));
    await rejectsChanged(readSmallFileBody(touchedSource), /differs from when the upload was queued/);

    const replaced = await writeRandomFile(dir.path, 'replaced.bin', 2048);
    const replacedSource = inspectSourceFile(replaced.path);
    const other = await writeRandomFile(dir.path, 'other.bin', 2048);
    await utimes(other.path, replacedSource.mtimeMs / 1000, replacedSource.mtimeMs / 1000);
    await rename(other.path, replaced.path);
    await rejectsChanged(readSmallFileBody(replacedSource), /differs from when the upload was queued/);

    await rejectsChanged(readSmallFileBody({ ...replacedSource, path: join(dir.path, 'gone.bin') }), /file is gone/);
  });

  it('a FIFO put in the file’s place does not block: it is refused', async () => {
    const file = await writeRandomFile(dir.path, 'fifo-target.bin', 1024);
    const source = inspectSourceFile(file.path);
    const fifo = join(dir.path, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(collect(readSmallFileBody({ ...source, path: fifo })), (error: { code?: string }) => {
      assert.ok(['BT_ERR_SOURCE_CHANGED', 'BT_ERR_FILE_UNREADABLE'].includes(error.code ?? ''), error.code);
      return true;
    });
  });
});

describe('fileBody', () => {
  it('files at and just above SMALL_BODY_BYTES (read whole, read streamed) give the same bytes', async () => {
    for (const size of [SMALL_BODY_BYTES, SMALL_BODY_BYTES + 1]) {
      const file = await writeRandomFile(dir.path, `edge-${size}.bin`, size);
      const body = fileBody(inspectSourceFile(file.path));
      const chunks: Uint8Array[] = [];
      for await (const chunk of body.read(0)) chunks.push(chunk);
      assert.deepEqual(Buffer.concat(chunks), await readFile(file.path));
      assert.equal(chunks.length, 1);
    }
  });
});
