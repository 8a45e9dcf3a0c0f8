import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { type FileHandle, open, readFile, truncate, utimes, writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { TransferError } from '../../src/core/errors.ts';
import {
  CHUNK_BYTES,
  type FileSourceInfo,
  inspectSourceFile,
  RING_CHUNKS,
  readFileBody,
  SEND_BYTES,
} from '../../src/source/file-source.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/**
 * Reading a file as a request body: big reads kept in flight ahead of the consumer (the socket must
 * not wait for the disk), exact bytes for any [start, end), and a changed file still caught.
 */

const MIB = 1024 * 1024;
let dir: TempDir;
let file: RandomFile;
let content: Buffer;
let source: FileSourceInfo;

before(async () => {
  dir = await makeTempDir('file-source-test-');
  // Not a multiple of any chunk size, so the last read is a short one.
  file = await writeRandomFile(dir.path, 'body.bin', 9 * MIB + 12_345);
  content = await readFile(file.path);
  source = inspectSourceFile(file.path);
});

after(async () => {
  await dir.cleanup();
});

interface ReadLog {
  lengths: number[];
  maxInFlight: number;
  stats: number;
  restore(): void;
}

/** Counts FileHandle reads (their sizes and how many overlap) and fstat calls, process-wide. */
async function spyOnFileHandles(): Promise<ReadLog> {
  const probe = await open(file.path, 'r');
  const proto = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  const originalRead = proto.read;
  const originalStat = proto.stat;
  let inFlight = 0;
  const log: ReadLog = {
    lengths: [],
    maxInFlight: 0,
    stats: 0,
    restore() {
      proto.read = originalRead;
      proto.stat = originalStat;
    },
  };
  // Wrapped with the signature readFileBody uses: (buffer, offset, length, position).
  proto.read = async function (this: FileHandle, ...args: unknown[]) {
    log.lengths.push(args[2] as number);
    inFlight += 1;
    log.maxInFlight = Math.max(log.maxInFlight, inFlight);
    try {
      return await (originalRead as (...a: unknown[]) => ReturnType<FileHandle['read']>).apply(this, args);
    } finally {
      inFlight -= 1;
    }
  } as FileHandle['read'];
  proto.stat = function (this: FileHandle, ...args: unknown[]) {
    log.stats += 1;
    return (originalStat as (...a: unknown[]) => ReturnType<FileHandle['stat']>).apply(this, args);
  } as FileHandle['stat'];
  return log;
}

async function collect(chunks: AsyncIterable<Uint8Array>, slowMs = 0, sizes: number[] = []): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) {
    // Copied: the source reuses its read buffers once the consumer is a chunk further on.
    parts.push(Buffer.from(chunk));
    sizes.push(chunk.byteLength);
    // A consumer slower than the disk, like a socket: the reads ahead have time to start.
    if (slowMs > 0) await new Promise((resolve) => setTimeout(resolve, slowMs));
  }
  return Buffer.concat(parts);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

test('reads 1 MiB at a time with several reads in flight and two fstat calls per body', async () => {
  const log = await spyOnFileHandles();
  const sizes: number[] = [];
  let body: Buffer;
  try {
    body = await collect(readFileBody(source), 5, sizes);
  } finally {
    log.restore();
  }
  assert.equal(sha256(body), file.sha256);
  assert.ok(CHUNK_BYTES >= MIB, `chunks of ${CHUNK_BYTES} bytes`);
  // The last read is the 1-byte probe past the recorded size (a file that yields more has changed).
  const probe = log.lengths.at(-1);
  const reads = log.lengths.slice(0, -1);
  assert.equal(probe, 1, `the end probe reads one byte: ${log.lengths.join(', ')}`);
  assert.ok(
    reads.every((length, index) => length === CHUNK_BYTES || index === reads.length - 1),
    `every read but the last is a whole chunk: ${reads.join(', ')}`,
  );
  assert.equal(reads.length, Math.ceil(content.length / CHUNK_BYTES));
  // Handed over in big pieces (each one socket write), not one per read.
  assert.ok(SEND_BYTES >= 256 * 1024, `pieces of ${SEND_BYTES} bytes`);
  assert.ok(
    sizes.slice(0, -1).every((size) => size === SEND_BYTES),
    `every piece but the last is SEND_BYTES: ${sizes.join(', ')}`,
  );
  assert.ok(log.maxInFlight >= 2, `reads overlap the consumer (at most ${log.maxInFlight} in flight)`);
  // Identity when opened, and size/mtime before the last chunk: not one per chunk.
  assert.equal(log.stats, 2);
});

test('reuses a ring of RING_CHUNKS read buffers, and a piece stays intact until a whole chunk later', async () => {
  // A read buffer is a slot of CHUNK_BYTES in some memory (one shared memory holds the whole ring).
  const buffers = new Map<ArrayBufferLike, Set<number>>();
  // Every piece with its expected content, checked again once the consumer is pieces further on.
  const held: Array<{ piece: Uint8Array; at: number }> = [];
  const margin = CHUNK_BYTES / SEND_BYTES;
  let at = 0;
  for await (const piece of readFileBody(source)) {
    const slots = buffers.get(piece.buffer) ?? new Set<number>();
    slots.add(Math.floor(piece.byteOffset / CHUNK_BYTES));
    buffers.set(piece.buffer, slots);
    held.push({ piece, at });
    at += piece.byteLength;
    // The pieces a consumer may still hold (basic-ftp holds two): unchanged.
    for (const old of held.slice(-margin)) {
      assert.ok(
        Buffer.from(old.piece).equals(content.subarray(old.at, old.at + old.piece.byteLength)),
        `the piece at ${old.at} is intact ${margin} pieces later`,
      );
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(at, content.length);
  // 9 MiB read in 10 reads, into at most RING_CHUNKS buffers (not one new buffer per read).
  const used = [...buffers.values()].reduce((sum, slots) => sum + slots.size, 0);
  assert.ok(used <= RING_CHUNKS, `${used} read buffers for ${Math.ceil(at / CHUNK_BYTES)} reads`);
});

test('full-size reads land page-aligned (fast kernel copies)', async () => {
  for (const start of [0, 5]) {
    let at = start;
    for await (const piece of readFileBody(source, start)) {
      // A WebAssembly memory starts on a page, and every read buffer is a whole number of pages into it.
      if ((at - start) % CHUNK_BYTES === 0) assert.equal(piece.byteOffset % 4096, 0, `read at ${at} is page-aligned`);
      at += piece.byteLength;
    }
    assert.equal(at, content.length);
  }
});

test('yields exactly the bytes [start, end) for any range', async () => {
  const ranges: Array<[number, number | undefined]> = [
    [0, undefined],
    [1, undefined],
    [CHUNK_BYTES, undefined],
    [CHUNK_BYTES - 1, CHUNK_BYTES + 1],
    [3 * MIB + 7, 5 * MIB + 11],
    [content.length - 1, undefined],
    [content.length, undefined],
    [0, 0],
  ];
  for (const [start, end] of ranges) {
    const body = await collect(readFileBody(source, start, end));
    assert.ok(body.equals(content.subarray(start, end ?? content.length)), `range [${start}, ${end})`);
  }
});

test('a consumer that stops early closes the file, with reads still in flight', async () => {
  const before = openDescriptors();
  for (let i = 0; i < 5; i++) {
    for await (const chunk of readFileBody(source)) {
      assert.equal(chunk.byteLength, SEND_BYTES);
      break;
    }
  }
  assert.equal(openDescriptors(), before);
});

test('the file is closed before the last chunk is handed over', async () => {
  // undici ends the request only when the body iterable is done; waiting for close() after the last
  // byte lets a quick response arrive first, and undici then drops the kept-alive connection.
  const before = openDescriptors();
  const sizes: number[] = [];
  let openAtLast = -1;
  let received = 0;
  for await (const chunk of readFileBody(source)) {
    received += chunk.byteLength;
    sizes.push(chunk.byteLength);
    if (received === content.length) openAtLast = openDescriptors();
  }
  assert.equal(openAtLast, before, `descriptors open while the last chunk was handed over (${sizes.length} chunks)`);
});

test('a file changed during the read fails with BT_ERR_SOURCE_CHANGED before its last chunk', async () => {
  const copy = await writeRandomFile(dir.path, 'changed.bin', 6 * MIB);
  const info = inspectSourceFile(copy.path);
  let delivered = 0;
  await assert.rejects(
    (async () => {
      for await (const chunk of readFileBody(info)) {
        if (delivered === 0) {
          // Same size, new content and mtime: only the check before the last chunk can see it.
          await writeFile(copy.path, Buffer.alloc(6 * MIB, 1));
          await utimes(copy.path, new Date(), new Date(Date.now() + 5_000));
        }
        delivered += chunk.byteLength;
      }
    })(),
    (error: unknown) => error instanceof TransferError && error.code === 'BT_ERR_SOURCE_CHANGED',
  );
  assert.ok(delivered < info.size, `the complete body was never delivered (${delivered} bytes)`);
});

test('a file truncated during the read fails with BT_ERR_SOURCE_CHANGED', async () => {
  const copy = await writeRandomFile(dir.path, 'truncated.bin', 8 * MIB);
  const info = inspectSourceFile(copy.path);
  await assert.rejects(
    (async () => {
      let first = true;
      for await (const _chunk of readFileBody(info, 0)) {
        if (first) await truncate(copy.path, MIB);
        first = false;
      }
    })(),
    (error: unknown) => error instanceof TransferError && error.code === 'BT_ERR_SOURCE_CHANGED',
  );
});

test('another file at the path fails before the first byte', async () => {
  const copy = await writeRandomFile(dir.path, 'replaced.bin', MIB);
  const info = inspectSourceFile(copy.path);
  await writeRandomFile(dir.path, 'replaced.bin', MIB + 1);
  await assert.rejects(
    collect(readFileBody(info)),
    (error: unknown) => error instanceof TransferError && error.code === 'BT_ERR_SOURCE_CHANGED',
  );
});
