import { basename, dirname, join } from 'node:path';

/** Room left in a 255-byte file name for the result file's own name (the rest is the guid and suffix). */
const NAME_ROOM = 120;

/**
 * Where a download's bytes go until it completes: beside the result file (same directory, so the final
 * rename is atomic and needs no copy), hidden, and named after the operation so two downloads to the
 * same result never share one (docs/downloads.md). Both the engine and the API (random access) use it.
 */
export function partialPathOf(resultPath: string, guid: string): string {
  const name = Buffer.from(basename(resultPath))
    .subarray(0, NAME_ROOM)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
  return join(dirname(resultPath), `.${name}.${guid}.bgtransfer-partial`);
}
