import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { BackgroundTransferStatus, isTerminalStatus } from '../core/enums.ts';
import { TransferError, toTransferError } from '../core/errors.ts';
import { nodeFsPromises, nodeStream, nodeTimersPromises } from '../core/lazy-builtins.ts';

const CHUNK_BYTES = 64 * 1024;
/** How often a reader that is ahead of the download looks for new bytes. */
const POLL_MS = 50;

export interface DownloadFiles {
  resultPath: string;
  partialPath: string;
  /** The operation's current status, asked of the engine when the files alone cannot tell. */
  status(): Promise<BackgroundTransferStatus>;
}

/**
 * DownloadOperation.getResultStreamAt (docs/downloads.md, "Random access"): the bytes from `position`,
 * read from the partial file while the download runs and from the result file once it completed. A
 * read beyond what arrived waits for the bytes; the stream ends at the end of the completed file, and
 * fails with BT_ERR_CANCELED or the download's error if it ends otherwise.
 */
export function openDownloadStream(files: DownloadFiles, position: number): Readable {
  return nodeStream().Readable.from(readDownload(files, position), { objectMode: false });
}

async function openIfThere(path: string): Promise<FileHandle | null> {
  try {
    return await nodeFsPromises().open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw toTransferError(error, 'BT_ERR_IO');
  }
}

async function* readDownload(files: DownloadFiles, position: number): AsyncGenerator<Buffer> {
  let offset = position;
  let handle: FileHandle | null = null;
  let complete = false;
  try {
    for (;;) {
      if (handle === null) {
        // The result file exists only once the download completed: it is then the whole body.
        handle = await openIfThere(files.resultPath);
        complete = handle !== null;
        handle ??= await openIfThere(files.partialPath);
      }
      if (handle === null) {
        const status = await files.status();
        if (status === BackgroundTransferStatus.completed) {
          // Between the partial's rename and our look at the result file: look again.
          if (await openIfThere(files.resultPath).then((h) => h?.close().then(() => true) ?? false)) continue;
        }
        if (isTerminalStatus(status)) throw endedError(status);
        await nodeTimersPromises().setTimeout(POLL_MS);
        continue;
      }
      const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, offset);
      if (bytesRead > 0) {
        offset += bytesRead;
        yield buffer.subarray(0, bytesRead);
        continue;
      }
      if (complete) return;
      // At the end of what arrived: wait, and switch to the result file once the download completed.
      const status = await files.status();
      if (status === BackgroundTransferStatus.completed || isTerminalStatus(status)) {
        await handle.close();
        handle = null;
        if (status !== BackgroundTransferStatus.completed) throw endedError(status);
        continue;
      }
      await nodeTimersPromises().setTimeout(POLL_MS);
    }
  } finally {
    await handle?.close();
  }
}

function endedError(status: BackgroundTransferStatus): TransferError {
  return status === BackgroundTransferStatus.canceled
    ? new TransferError('BT_ERR_CANCELED', 'the download was canceled before these bytes arrived')
    : new TransferError('BT_ERR_ILLEGAL_STATE', 'the download ended without these bytes (see its error)');
}
