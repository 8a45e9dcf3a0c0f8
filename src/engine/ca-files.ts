import { TransferError } from '../core/errors.ts';
import { readBoundedFile } from '../core/safe-read.ts';

/** A CA bundle is far below this; the bound keeps /dev/zero or a FIFO named by mistake from hanging the host. */
const MAX_CA_FILE_BYTES = 16 * 1024 * 1024;

/** The PEM text of each extraCaCertificates file (links followed: /etc/ssl/certs is made of them). */
export function readCaFiles(paths: readonly string[]): string[] {
  return paths.map((path) => {
    const what = 'config: extraCaCertificates';
    const bytes = readBoundedFile(path, {
      maxBytes: MAX_CA_FILE_BYTES,
      code: 'BT_ERR_CONFIG_INVALID',
      what,
      followLinks: true,
    });
    if (bytes === undefined)
      throw new TransferError('BT_ERR_CONFIG_INVALID', `${what}: cannot read ${path}: no such file`);
    return bytes.toString('utf8');
  });
}
