import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { delimiterOf, scanFilePart, scanStart } from '../../src/protocols/multipart/boundary-scan.ts';

/** The streaming check for a multipart boundary inside a file part: chunk edges, the part's start, resumes. */

const BOUNDARY = 'b0und';
const FILE = { path: '/data/part.bin', size: 0, mtimeMs: 0, ino: 0 };

async function* chunksOf(bytes: Buffer, size: number, from = 0): AsyncGenerator<Uint8Array> {
  for (let offset = from; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

async function scan(content: Buffer, chunkSize: number, skip = 0): Promise<Buffer> {
  const from = scanStart(skip, BOUNDARY);
  const out: Buffer[] = [];
  for await (const chunk of scanFilePart(chunksOf(content, chunkSize, from), FILE, BOUNDARY, from, skip)) {
    out.push(Buffer.from(chunk));
  }
  return Buffer.concat(out);
}

async function codeOf(work: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await work();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('boundary scan', () => {
  test('content without the delimiter passes through unchanged, from any resume offset', async () => {
    const content = Buffer.from(`${'x'.repeat(100)}\r\n--b0un${'-b0und'.repeat(3)}${'y'.repeat(50)}`);
    for (const size of [1, 3, 7, 64]) {
      assert.deepEqual(await scan(content, size), content);
      for (const skip of [0, 1, 5, 50, 104, content.length]) {
        assert.deepEqual(await scan(content, size, skip), content.subarray(skip), `size ${size} skip ${skip}`);
      }
    }
  });

  test('the delimiter is found wherever it lies relative to the chunk edges', async () => {
    const delimiter = delimiterOf(BOUNDARY);
    for (const size of [1, 2, 4, 8, 16]) {
      for (let at = 1; at < 40; at += 1) {
        const content = Buffer.alloc(60, 0x61);
        delimiter.copy(content, at);
        assert.equal(await codeOf(() => scan(content, size)), 'BT_ERR_BOUNDARY_IN_CONTENT', `size ${size} at ${at}`);
      }
    }
  });

  test('content that starts with "--boundary" matches (the part begins after a CRLF)', async () => {
    assert.equal(await codeOf(() => scan(Buffer.from(`--${BOUNDARY}rest`), 4)), 'BT_ERR_BOUNDARY_IN_CONTENT');
  });

  test('a resume just after a delimiter that straddles the resume offset still finds it', async () => {
    const content = Buffer.alloc(40, 0x61);
    delimiterOf(BOUNDARY).copy(content, 10);
    assert.equal(await codeOf(() => scan(content, 8, 13)), 'BT_ERR_BOUNDARY_IN_CONTENT');
  });
});
