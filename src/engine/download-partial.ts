import { close as closeFd, constants, open as openFd } from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TransferError } from '../core/errors.ts';
import { resultFileMode } from './result-mode.ts';

/**
 * The partial file of a download (docs/downloads.md): opened without following links, 0600, and only
 * ever trusted up to what was fsynced and recorded.
 */

const NO_FOLLOW = constants.O_NOFOLLOW | constants.O_NONBLOCK;

function ioError(what: string, path: string, error: unknown): TransferError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new TransferError('BT_ERR_DISK_FULL', `cannot ${what} ${path}: the disk is full`, { cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new TransferError('BT_ERR_IO', `cannot ${what} ${path}: ${detail}`, { cause: error });
}

/** A write error from the exchange (BT_ERR_IO with the errno as cause) that was really a full disk. */
export function diskFullOr(error: unknown): unknown {
  if (!(error instanceof TransferError) || error.code !== 'BT_ERR_IO') return error;
  const code = (error.cause as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return error;
  return new TransferError('BT_ERR_DISK_FULL', `${error.message} (the disk is full)`, { cause: error.cause });
}

/**
 * Opens (creating) the partial file, keeps its first `trusted` bytes at most (the smaller of what was
 * recorded as fsynced and what is on disk) and returns how many it kept. A path that is a link, a
 * directory or a device is refused.
 */
export async function preparePartial(path: string, trusted: number): Promise<number> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDWR | constants.O_CREAT | NO_FOLLOW, 0o600);
  } catch (error) {
    throw ioError('open the partial file', path, error);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new TransferError('BT_ERR_IO', `the partial file ${path} is not a regular file`);
    }
    const kept = Math.min(stats.size, Math.max(0, trusted));
    if (kept !== stats.size) await handle.truncate(kept);
    await handle.sync();
    return kept;
  } catch (error) {
    throw error instanceof TransferError ? error : ioError('prepare the partial file', path, error);
  } finally {
    await handle.close();
  }
}

/** fsyncs the partial file and returns its size: the bytes a resume may trust from now on. */
export async function syncedSize(path: string): Promise<number> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | NO_FOLLOW);
  } catch (error) {
    throw ioError('open the partial file', path, error);
  }
  try {
    // fsync covers the file's data whichever descriptor wrote it.
    const before = (await handle.stat()).size;
    await handle.sync();
    return before;
  } catch (error) {
    throw ioError('fsync the partial file', path, error);
  } finally {
    await handle.close();
  }
}

/** Linux's O_PATH (not in fs.constants): a descriptor that only holds the inode; nothing is read or opened. */
const O_PATH = 0o10000000;

/**
 * Holds the file a rename is about to replace, so that the rename does not free its blocks: when a
 * rename drops a big file's last link, the kernel frees its extents inside the rename (0.37 s for a
 * 1 GiB file at load 9), before the download may be reported complete. With a descriptor held, that
 * work moves to the descriptor's close, after. Linux only; null when nothing is there.
 */
function holdReplaced(path: string): Promise<number | null> {
  if (process.platform !== 'linux') return Promise.resolve(null);
  // A plain descriptor, not a FileHandle: it stays open until closed here, never by a collection.
  return new Promise((resolve) =>
    openFd(path, O_PATH | constants.O_NOFOLLOW, (error, fd) => resolve(error ? null : fd)),
  );
}

/**
 * Moves the complete partial file onto the result (replacing one only now) and makes that durable. The
 * result gets its final mode first (result-mode.ts): the partial file's 0600 was for the download only.
 */
export async function publishResult(partialPath: string, resultPath: string): Promise<void> {
  const replaced = await holdReplaced(resultPath);
  try {
    await setMode(partialPath, await resultFileMode(replaced));
    try {
      await rename(partialPath, resultPath);
    } catch (error) {
      throw ioError('move the download onto', resultPath, error);
    }
    let directory: FileHandle | undefined;
    try {
      directory = await open(dirname(resultPath), constants.O_RDONLY | constants.O_DIRECTORY);
      await directory.sync();
    } catch (error) {
      throw ioError('fsync the directory of', resultPath, error);
    } finally {
      await directory?.close();
    }
  } finally {
    // Not awaited: the replaced file's blocks are freed in the background, after the result is in place.
    if (replaced !== null) closeFd(replaced, () => undefined);
  }
}

/** chmod through a descriptor opened without following a link (a link planted there is refused). */
async function setMode(path: string, mode: number): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, constants.O_RDONLY | NO_FOLLOW);
    await handle.chmod(mode);
  } catch (error) {
    throw ioError('set the mode of', path, error);
  } finally {
    await handle?.close();
  }
}

/** Removes the partial file (cancel, failure, a digest mismatch); a missing one is fine. */
export async function discardPartial(path: string): Promise<void> {
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw ioError('remove the partial file', path, error);
  });
}
