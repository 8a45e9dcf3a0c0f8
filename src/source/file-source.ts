import type { FileHandle } from 'node:fs/promises';
import { TransferError } from '../core/errors.ts';
import { nodeFs, nodeFsPromises } from '../core/lazy-builtins.ts';

// Not `import … from 'node:fs'`: its ES module facade costs the streams' modules (core/lazy-builtins.ts).
const { accessSync, closeSync, constants, openSync, readSync, statSync } = nodeFs();

/** The identity of a source file when the upload was queued; a change of any of these means another file. */
export interface FileSourceInfo {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

/**
 * Checks a source file before anything is queued: it must exist, be a regular file and be readable.
 * Synchronous on purpose: `createUpload` is synchronous in Windows.
 */
export function inspectSourceFile(path: string): FileSourceInfo {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new TransferError('BT_ERR_FILE_NOT_FOUND', `source file not found: ${path}`, { cause: error });
    }
    throw new TransferError('BT_ERR_FILE_UNREADABLE', `source file cannot be read: ${path} (${code})`, {
      cause: error,
    });
  }
  if (!stats.isFile()) {
    throw new TransferError('BT_ERR_NOT_A_FILE', `source is not a regular file: ${path}`);
  }
  try {
    accessSync(path, constants.R_OK);
  } catch (error) {
    throw new TransferError('BT_ERR_FILE_UNREADABLE', `source file cannot be read: ${path}`, { cause: error });
  }
  // Files under /proc and /sys report size 0 and yield bytes: uploaded by size they would arrive empty.
  if (stats.size === 0 && readsPastSize(path)) {
    throw new TransferError(
      'BT_ERR_SOURCE_CHANGED',
      `source file ${path} yields bytes although its size is 0 (its size is not known in advance, as under /proc); ` +
        'copy it to a regular file first, or upload it with createUploadFromStreamAsync',
    );
  }
  return { path, size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino };
}

/** Whether an empty-looking file yields a byte anyway (O_NONBLOCK: never waits). */
function readsPastSize(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return false; // the read at upload time reports it
  }
  try {
    return readSync(fd, Buffer.alloc(1), 0, 1, null) > 0;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/**
 * A file that yields bytes past its recorded size has changed (it grew, or its size lied, as under
 * /proc): the body would be a silent truncation. Checked before the chunk that ends the file goes out.
 */
async function assertEndsAtSize(handle: FileHandle, source: FileSourceInfo): Promise<void> {
  const { bytesRead } = await handle.read(Buffer.alloc(1), 0, 1, source.size);
  if (bytesRead > 0) throw changed(source, `it yields more than the ${source.size} bytes recorded`);
}

/**
 * Bytes per read. 1 MiB: with 64 KiB reads a 1 GiB body took 16,384 thread-pool round trips, each
 * one leaving the socket idle while it waited; 1 MiB reads cost a sixteenth of the per-call overhead
 * and still keep memory small (READ_AHEAD + 1 chunks per body).
 */
export const CHUNK_BYTES = 1024 * 1024;
/**
 * Reads kept in flight ahead of the consumer. While the connection sends one chunk, the next ones are
 * already being read, so the socket never waits for the disk (a page-cache read of 1 MiB is shorter
 * than sending it, a cold disk read may be longer).
 */
export const READ_AHEAD = 3;
/**
 * Bytes per chunk handed to the consumer: a read is yielded in slices of this size. The HTTP client
 * pulls the next chunk once the connection took the last one, and that is what its stall timer watches:
 * with 1 MiB pieces a link slower than 1 MiB per stallTimeoutMs (17 KB/s at the default 60 s) would
 * look stalled. 256 KiB keeps that at about 4 KB/s and is still far above the socket's 16 KiB
 * high-water mark, so every write goes out as one big buffer.
 */
export const SEND_BYTES = 256 * 1024;
/**
 * Read buffers per body, reused in turn (a fresh 1 MiB buffer per read made 1 GiB of garbage per GiB
 * sent: 27 full collections per GiB, and a peak RSS set by when V8 got round to them). A buffer is
 * refilled only once the consumer has pulled the first piece of the chunk *after* the one that
 * follows it: a whole chunk (four pieces) of margin. What the consumers hold, and why that is enough:
 * - undici (HTTP/1.1) writes a piece to the socket and pulls the next only when write() returned
 *   true (under the 16 KiB high-water mark) or after 'drain', when Node's and libuv's write queues
 *   are empty: it holds nothing from before the piece it pulls;
 * - basic-ftp pipes a `Readable.from` of the body into the data socket: the piece in the socket's
 *   queue and one in the Readable's buffer, two pieces behind the one it pulls;
 * - the digest (node:crypto update) and the multipart boundary scan copy what they keep.
 * test/integration/reused-buffers.test.ts sends large files through each path to slow servers and
 * compares sha-256: with no margin, the FTP path arrives corrupted.
 */
export const RING_CHUNKS = READ_AHEAD + 2;

/**
 * The read buffers of one body: `count` buffers of `bytes` each, at page-aligned addresses in one
 * WebAssembly memory when they are full-size reads.
 * - Aligned: the kernel copies from the page cache into a destination that is not 64-byte aligned
 *   about 3.5 times slower on this class of machine (AMD EPYC: 0.52 against 0.15 system CPU s per
 *   GiB read with 1 MiB pread). A Buffer of 1 MiB comes from malloc, 16 bytes past a page boundary;
 *   a WebAssembly memory starts on a page.
 * A small body keeps pooled buffers; if the memory cannot be had, plain buffers do (only slower).
 */
function allocateRing(bytes: number, count: number): Buffer[] {
  if (bytes >= CHUNK_BYTES) {
    try {
      const pages = Math.ceil((bytes * count) / WASM_PAGE_BYTES);
      const memory = new WasmMemory({ initial: pages, maximum: pages });
      return Array.from({ length: count }, (_, index) => Buffer.from(memory.buffer, index * bytes, bytes));
    } catch {
      // Address space for WebAssembly memories is limited per process: fall through to plain buffers.
    }
  }
  return Array.from({ length: count }, () => Buffer.allocUnsafe(bytes));
}

const WASM_PAGE_BYTES = 64 * 1024;
/** The global WebAssembly is typed by the DOM library only, which this Node-only project does not load. */
const WasmMemory = (
  globalThis as unknown as {
    WebAssembly: {
      Memory: new (descriptor: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
    };
  }
).WebAssembly.Memory;

function changed(source: FileSourceInfo, detail: string): TransferError {
  return new TransferError(
    'BT_ERR_SOURCE_CHANGED',
    `source file changed during the upload: ${source.path} (${detail})`,
  );
}

async function openSource(source: FileSourceInfo): Promise<FileHandle> {
  const { open } = nodeFsPromises();
  return open(source.path, 'r').catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw changed(source, 'file is gone');
    throw new TransferError('BT_ERR_FILE_UNREADABLE', `source file cannot be read: ${source.path}`, { cause: error });
  });
}

/**
 * Fills `buffer` with bytes [position, position + length). A short read (possible, if rare, for a
 * regular file) is continued; the end of the file before `length` bytes means the file shrank.
 */
async function readChunk(
  handle: FileHandle,
  source: FileSourceInfo,
  buffer: Buffer,
  position: number,
  length: number,
): Promise<Buffer> {
  for (let filled = 0; filled < length; ) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw changed(source, `ended at byte ${position + filled} of ${source.size}`);
    filled += bytesRead;
  }
  return buffer.subarray(0, length);
}

/**
 * Reads `source` from `start` to `end` (default: its recorded size) as an async iterable of chunks of
 * SEND_BYTES, for a request body. It reads CHUNK_BYTES at a time, with up to READ_AHEAD reads ahead of
 * the consumer; beyond that the consumer's pace holds memory (the HTTP client pulls the next chunk once
 * the socket took the last).
 *
 * The identity of the file (inode, size, mtime) is checked once when it is opened, and its size and
 * mtime again before the chunk that ends the file is handed over: if they differ from what was recorded,
 * the body is cut short with BT_ERR_SOURCE_CHANGED, so the server never receives a complete
 * (Content-Length) body made of two versions of the file. No check per chunk: two fstat calls per body.
 */
export async function* readFileBody(
  source: FileSourceInfo,
  start = 0,
  end = source.size,
): AsyncGenerator<Uint8Array, void, undefined> {
  const stop = Math.min(end, source.size);
  const handle = await openSource(source);
  const reads: Array<Promise<Buffer>> = [];
  // Sized for the range: a small file gets one small buffer, as before.
  const bufferBytes = Math.min(CHUNK_BYTES, Math.max(0, stop - start));
  // RING_CHUNKS are enough: READ_AHEAD in flight, the one being handed over, the one before.
  const spare = allocateRing(bufferBytes, Math.min(RING_CHUNKS, Math.ceil((stop - start) / CHUNK_BYTES)));
  const slots: Buffer[] = [];
  let closed = false;
  try {
    const opened = await handle.stat();
    if (opened.ino !== source.ino || opened.size !== source.size || opened.mtimeMs !== source.mtimeMs) {
      throw changed(source, 'differs from when the upload was queued');
    }
    let next = start;
    const readAhead = (): void => {
      while (reads.length < READ_AHEAD && next < stop) {
        const length = Math.min(CHUNK_BYTES, stop - next);
        const slot = spare.pop() ?? Buffer.allocUnsafe(bufferBytes);
        slots.push(slot);
        const read = readChunk(handle, source, slot, next, length);
        // Awaited in order below (or settled in `finally`); this only keeps an early failure of a
        // read that is not awaited yet from counting as unhandled.
        read.catch(() => undefined);
        reads.push(read);
        next += length;
      }
    };
    readAhead();
    // The buffers of the chunk being handed over and of the one before it: not reused yet (RING_CHUNKS).
    let previous: Buffer | undefined;
    let current: Buffer | undefined;
    let position = start;
    if (start >= source.size) await assertEndsAtSize(handle, source);
    for (let read = reads.shift(); read !== undefined; read = reads.shift()) {
      const chunk = await read;
      // The consumer pulled the piece after the last of `current`'s: `previous` is a whole chunk behind.
      if (previous !== undefined) spare.push(previous);
      previous = current;
      current = slots.shift();
      readAhead();
      position += chunk.byteLength;
      if (position >= source.size) {
        const now = await handle.stat();
        if (now.size !== source.size || now.mtimeMs !== source.mtimeMs) {
          throw changed(source, `size ${source.size} → ${now.size}`);
        }
        await assertEndsAtSize(handle, source);
      }
      if (reads.length === 0) {
        // Closed before the last chunk goes out, not after: undici ends the request only once the
        // iterable is done, and a response that completes before that makes it drop the connection
        // (no keep-alive) — the server may answer as soon as the last byte arrives.
        closed = true;
        await handle.close();
      }
      for (let at = 0; at < chunk.byteLength; at += SEND_BYTES) yield chunk.subarray(at, at + SEND_BYTES);
    }
  } finally {
    // A consumer that stops early (a tus chunk's end, an abort) leaves reads in flight: they must end
    // before the descriptor is closed.
    await Promise.allSettled(reads);
    if (!closed) await handle.close();
  }
}
