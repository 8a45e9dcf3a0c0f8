import { basename, extname, resolve } from 'node:path';
import { TransferError } from '../core/errors.ts';
import { nodeFsPromises } from '../core/lazy-builtins.ts';

/**
 * Windows.Storage.StorageFile, reduced to what uploads need: a file by path. Wherever a file is taken,
 * a StorageFile or a path string is accepted (docs/api/storage-file.md).
 */
export class StorageFile {
  readonly path: string;
  readonly name: string;
  readonly displayName: string;
  readonly fileType: string;

  private constructor(path: string) {
    this.path = resolve(path);
    this.name = basename(this.path);
    this.fileType = extname(this.path);
    this.displayName = basename(this.path, this.fileType);
  }

  /** Rejects with BT_ERR_FILE_NOT_FOUND / BT_ERR_NOT_A_FILE like WinRT rejects a path it cannot open. */
  static async getFileFromPathAsync(path: string): Promise<StorageFile> {
    if (typeof path !== 'string' || path.length === 0) {
      throw new TransferError('BT_ERR_INVALID_ARGUMENT', 'getFileFromPathAsync needs a path string');
    }
    const stats = await nodeFsPromises()
      .stat(path)
      .catch((error: unknown) => {
        throw new TransferError('BT_ERR_FILE_NOT_FOUND', `file not found: ${path}`, { cause: error });
      });
    if (!stats.isFile()) throw new TransferError('BT_ERR_NOT_A_FILE', `not a regular file: ${path}`);
    return new StorageFile(path);
  }

  /** For code that already holds a path it trusts; the upload checks the file again anyway. */
  static fromPath(path: string): StorageFile {
    return new StorageFile(path);
  }
}

export type FileLike = StorageFile | string | { path: string };

export function filePathOf(file: FileLike): string {
  if (typeof file === 'string') return resolve(file);
  if (file && typeof file === 'object' && typeof file.path === 'string') return resolve(file.path);
  throw new TransferError('BT_ERR_INVALID_ARGUMENT', 'expected a StorageFile or a file path');
}
