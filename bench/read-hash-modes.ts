/**
 * Two questions about a big PUT's per-byte work, on a 1 GiB file in the page cache, paired and
 * alternated so both sides of each see the same machine load:
 * - reading it in 1 MiB pieces into page-aligned buffers, three reads ahead, and hashing each piece as
 *   an upload does: reads on libuv's thread pool (FileHandle.read, what file-source.ts does) against
 *   synchronous reads on the hashing thread;
 * - what a check of every received byte costs the bench's sink: sha-256 against zlib's CRC-32, in the
 *   64 KiB pieces a node:http server receives.
 * Usage: node --conditions=source --import tsx bench/read-hash-modes.ts [MiB] [pairs]
 */
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { writeRandomFile } from '../test/helpers/temp-dir.ts';

const mib = Number(process.argv[2] ?? 1024);
const pairs = Number(process.argv[3] ?? 4);
const PIECE = 1024 * 1024;
const AHEAD = 3;
const RING = AHEAD + 2;
/** The global WebAssembly is typed by the DOM library only, which this Node-only project does not load. */
const WasmMemory = (
  globalThis as unknown as {
    WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number }) => { buffer: ArrayBuffer } };
  }
).WebAssembly.Memory;

async function measure(run: () => Promise<void> | void): Promise<string> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run();
  const used = process.cpuUsage(cpu);
  return `${((performance.now() - started) / 1000).toFixed(2)} s wall / ${((used.user + used.system) / 1e6).toFixed(2)} CPU s`;
}

/** Reads the file piece by piece, AHEAD reads in flight, and hashes each piece in 256 KiB updates. */
async function readAndHash(path: string, size: number, sync: boolean): Promise<void> {
  const handle = await open(path, 'r');
  const memory = new WasmMemory({ initial: (RING * PIECE) / 65536, maximum: (RING * PIECE) / 65536 });
  const ring = Array.from({ length: RING }, (_, index) => Buffer.from(memory.buffer, index * PIECE, PIECE));
  const hash = createHash('sha256');
  const pending: Array<Promise<Buffer>> = [];
  let next = 0;
  let turn = 0;
  const issue = (): void => {
    while (pending.length < AHEAD && next < size) {
      const buffer = ring[turn++ % RING] as Buffer;
      if (sync) {
        readSync(handle.fd, buffer, 0, PIECE, next);
        pending.push(Promise.resolve(buffer));
      } else {
        pending.push(handle.read(buffer, 0, PIECE, next).then(() => buffer));
      }
      next += PIECE;
    }
  };
  try {
    issue();
    for (let read = pending.shift(); read !== undefined; read = pending.shift()) {
      const buffer = await read;
      issue();
      for (let at = 0; at < PIECE; at += 256 * 1024) hash.update(buffer.subarray(at, at + 256 * 1024));
    }
    hash.digest();
  } finally {
    await handle.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'read-hash-modes-'));
try {
  const size = mib * PIECE;
  const file = await writeRandomFile(dir, 'body.bin', size);
  await readAndHash(file.path, size, false); // page cache warm
  console.log(
    `${mib} MiB, ${pairs} pairs, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log('read on the thread pool + hash | synchronous read + hash');
  for (let pair = 0; pair < pairs; pair += 1) {
    const pool = await measure(() => readAndHash(file.path, size, false));
    const sync = await measure(() => readAndHash(file.path, size, true));
    console.log(`${pool} | ${sync}`);
  }
  const piece = Buffer.alloc(64 * 1024, 7);
  const count = size / piece.length;
  console.log('sha-256 of 64 KiB pieces | CRC-32 of the same');
  for (let pair = 0; pair < pairs; pair += 1) {
    const sha = await measure(() => {
      const hash = createHash('sha256');
      for (let index = 0; index < count; index += 1) hash.update(piece);
      hash.digest();
    });
    const crc = await measure(() => {
      let value = 0;
      for (let index = 0; index < count; index += 1) value = crc32(piece, value);
    });
    console.log(`${sha} | ${crc}`);
  }
  console.log(
    `load after ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
