import { validateHeader } from '../api/validation.ts';
import { TransferError } from '../core/errors.ts';

/** "Name: value" (a `--header` of upload or download) → [name, value], checked like setRequestHeader (BT_ERR_INVALID_HEADER). */
export function parseHeaderLine(line: string): [string, string] {
  const colon = line.indexOf(':');
  if (colon <= 0) {
    throw new TransferError(
      'BT_ERR_INVALID_HEADER',
      `--header must look like "Name: value", got ${JSON.stringify(line)}`,
    );
  }
  return validateHeader(line.slice(0, colon).trim(), line.slice(colon + 1));
}
