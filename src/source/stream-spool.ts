import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import { TransferError } from '../core/errors.ts';
import { refuseLink } from '../core/home-guard.ts';
import { nodeCrypto, nodeFsPromises, nodeStream, nodeStreamPromises } from '../core/lazy-builtins.ts';
import type { FileSourceInfo } from './file-source.ts';

/**
 * Spooling for `createUploadFromStreamAsync(uri, stream)` (docs/api/background-uploader.md): Windows
 * documents nothing about length or chunking, and a stream cannot be read twice, so the stream is copied
 * to a durable file first. The upload then is an ordinary file upload with an exact length that can be
 * retried, resumed and survives the death of the process that created it.
 */

/** A spooled stream: a file the upload owns, plus the sha256 of its content (for checks and logs). */
export interface SpooledFile extends FileSourceInfo {
  /** Lower-case hex sha256 of the content. */
  sha256: string;
}

export interface SpoolOptions {
  /** More bytes than this fail with BT_ERR_SPOOL_LIMIT (R73 sets no limit; the host's disk does). */
  maxBytes: number;
}

/** Errors from fsync on a directory where the platform does not support it (e.g. Windows). */
const DIRECTORY_SYNC_UNSUPPORTED: ReadonlySet<string> = new Set(['EISDIR', 'EPERM', 'EINVAL', 'EBADF', 'EACCES']);

function ioError(message: string, cause: unknown): TransferError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new TransferError('BT_ERR_IO', `${message}: ${detail}`, { cause });
}

function isWebStream(stream: unknown): stream is NodeWebReadableStream<Uint8Array> {
  return (
    typeof stream === 'object' && stream !== null && typeof (stream as { getReader?: unknown }).getReader === 'function'
  );
}

/**
 * A Node Readable (anything stream-like with read/pipe/on, as Node's own streams and older userland
 * ones have) or a web ReadableStream. Anything else, a path string above all, is refused: pipeline
 * would iterate a string and upload its characters.
 */
export function assertUploadStream(
  value: unknown,
): asserts value is NodeJS.ReadableStream | ReadableStream<Uint8Array> {
  if (typeof value === 'object' && value !== null) {
    if (value instanceof nodeStream().Readable || isWebStream(value)) return;
    const candidate = value as { read?: unknown; pipe?: unknown; on?: unknown };
    if ([candidate.read, candidate.pipe, candidate.on].every((member) => typeof member === 'function')) return;
  }
  const what = typeof value === 'string' ? `a string (${value.length} characters)` : describe(value);
  throw new TransferError(
    'BT_ERR_INVALID_ARGUMENT',
    `createUploadFromStreamAsync needs a Node Readable or a web ReadableStream, not ${what}; to upload a file, use createUpload`,
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return `a ${typeof value}`;
  return `an object (${value.constructor?.name ?? 'no constructor'})`;
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TransferError(
    'BT_ERR_INVALID_ARGUMENT',
    `the upload stream yielded a ${typeof chunk} chunk; only bytes (Buffer, Uint8Array) or strings can be uploaded`,
  );
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) {
    offset += (await handle.write(bytes, offset, bytes.length - offset)).bytesWritten;
  }
}

/** Makes the new directory entry durable too (POSIX: fsync the file, then its directory). */
async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await nodeFsPromises().open(directory, 'r');
    await handle.sync();
  } catch (error) {
    if (!DIRECTORY_SYNC_UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? '')) {
      throw ioError(`cannot sync spool directory ${directory}`, error);
    }
  } finally {
    await handle?.close();
  }
}

function validateMaxBytes(maxBytes: unknown): number {
  if (typeof maxBytes !== 'number' || !(maxBytes >= 0) || (Number.isFinite(maxBytes) && !Number.isInteger(maxBytes))) {
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', `spool maxBytes must be an integer >= 0 or Infinity`);
  }
  return maxBytes;
}

/**
 * Copies `stream` (a Node Readable or a web ReadableStream) into a new file in `directory` (created if
 * missing, mode 0700) with mode 0600, pulling with backpressure, and fsyncs the file and the directory
 * before it resolves: once it resolves, the bytes survive a crash.
 *
 * Fails with BT_ERR_SPOOL_LIMIT as soon as the stream passes `maxBytes`, with BT_ERR_IO (the original
 * error as `cause`) when the stream errors or the disk fails, and with BT_ERR_INVALID_ARGUMENT for a chunk
 * that is not bytes. On every failure the stream is destroyed and the partial file deleted.
 */
export async function spoolStream(
  stream: NodeJS.ReadableStream | ReadableStream<Uint8Array>,
  directory: string,
  options: SpoolOptions,
): Promise<SpooledFile> {
  try {
    return await spoolToFile(stream, directory, validateMaxBytes(options.maxBytes));
  } catch (error) {
    discard(stream, error);
    throw error instanceof TransferError ? error : ioError('spooling the upload stream failed', error);
  }
}

/** Releases the caller's stream after a failure (pipeline already destroyed it if it got that far). */
function discard(stream: NodeJS.ReadableStream | ReadableStream<Uint8Array>, reason: unknown): void {
  if (isWebStream(stream)) {
    if (!stream.locked) stream.cancel(reason).catch(() => undefined);
    return;
  }
  const destroyable = stream as NodeJS.ReadableStream & { destroy?: (error?: Error) => void; destroyed?: boolean };
  if (typeof destroyable.destroy === 'function' && destroyable.destroyed !== true) destroyable.destroy();
}

/**
 * Copies `stream` into `path`, an empty spool file the transfer engine created for this upload (the
 * app may not choose where a spool lives: the engine removes it when the upload ends). Same guarantees
 * and errors as spoolStream; on failure the file is emptied, and its owner (the engine) removes it when
 * the app releases it. The file is never created here: a missing one is BT_ERR_IO.
 */
export async function fillSpool(
  stream: NodeJS.ReadableStream | ReadableStream<Uint8Array>,
  path: string,
  options: SpoolOptions,
): Promise<SpooledFile> {
  try {
    const maxBytes = validateMaxBytes(options.maxBytes);
    const handle = await nodeFsPromises()
      .open(path, 'r+')
      .catch((error: unknown) => {
        throw ioError(`cannot open spool file ${path}`, error);
      });
    return await copyInto(stream, handle, path, maxBytes);
  } catch (error) {
    discard(stream, error);
    throw error instanceof TransferError ? error : ioError('spooling the upload stream failed', error);
  }
}

async function spoolToFile(
  stream: NodeJS.ReadableStream | ReadableStream<Uint8Array>,
  directory: string,
  maxBytes: number,
): Promise<SpooledFile> {
  // A link or a file planted where the spool directory goes would receive the app's bytes elsewhere.
  refuseLink(directory, 'the spool directory');
  const { mkdir, open, rm } = nodeFsPromises();
  await mkdir(directory, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
    throw ioError(`cannot create spool directory ${directory}`, error);
  });
  const path = join(directory, `stream-${nodeCrypto().randomUUID()}.spool`);
  const handle = await open(path, 'wx', 0o600).catch((error: unknown) => {
    throw ioError(`cannot create spool file ${path}`, error);
  });
  try {
    return await copyInto(stream, handle, path, maxBytes);
  } catch (error) {
    await rm(path, { force: true }).catch(() => undefined);
    throw error;
  }
}

/** Writes the stream into the open, empty file, fsyncs it and its directory, and closes it. */
async function copyInto(
  stream: NodeJS.ReadableStream | ReadableStream<Uint8Array>,
  handle: FileHandle,
  path: string,
  maxBytes: number,
): Promise<SpooledFile> {
  let handleOpen = true;
  try {
    await handle.truncate(0);
    // The mode given to open() is narrowed by the umask; make it exactly owner read/write.
    await handle.chmod(0o600);
    const hash = nodeCrypto().createHash('sha256');
    let size = 0;
    const source: NodeJS.ReadableStream = isWebStream(stream) ? nodeStream().Readable.fromWeb(stream) : stream;
    // pipeline: the source is pulled only as fast as the writes complete, and destroyed on any failure.
    await nodeStreamPromises().pipeline(source, async (chunks: AsyncIterable<unknown>) => {
      for await (const chunk of chunks) {
        const bytes = toBytes(chunk);
        if (size + bytes.length > maxBytes) {
          throw new TransferError(
            'BT_ERR_SPOOL_LIMIT',
            `the upload stream is longer than the spool limit of ${maxBytes} bytes`,
          );
        }
        hash.update(bytes);
        await writeAll(handle, bytes);
        size += bytes.length;
      }
    });
    await handle.sync();
    const stats = await handle.stat();
    handleOpen = false;
    await handle.close();
    await syncDirectory(dirname(path));
    return { path, size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino, sha256: hash.digest('hex') };
  } catch (error) {
    if (handleOpen) {
      // Nothing half-written is left for anyone to mistake for the stream.
      await handle.truncate(0).catch(() => undefined);
      await handle.close().catch(() => undefined);
    }
    throw error;
  }
}

/** Deletes a spool file once its upload has ended; a file that is already gone is fine. */
export async function removeSpool(path: string): Promise<void> {
  await nodeFsPromises()
    .rm(path, { force: true })
    .catch((error: unknown) => {
      throw ioError(`cannot remove spool file ${path}`, error);
    });
}
