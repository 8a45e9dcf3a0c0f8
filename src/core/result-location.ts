import type { Stats } from 'node:fs';
import { dirname } from 'node:path';
import { TransferError } from './errors.ts';
import { nodeFs } from './lazy-builtins.ts';

// Not `import … from 'node:fs'`: its ES module facade costs the streams' modules (core/lazy-builtins.ts).
const { lstatSync, statSync } = nodeFs();

function statOrUndefined(read: () => Stats): Stats | undefined {
  try {
    return read();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', `cannot inspect the result location: ${String(error)}`, {
      cause: error,
    });
  }
}

/**
 * Where a download's result may go, checked when it is created and again when the engine stores it:
 * its directory exists (the partial file is made there), and the path is not a directory. An existing
 * file there is replaced only once the download completed.
 */
export function checkResultLocation(resultPath: string): void {
  const directory = dirname(resultPath);
  const parent = statOrUndefined(() => statSync(directory));
  if (!parent?.isDirectory()) {
    throw new TransferError(
      'BT_ERR_INVALID_ARGUMENT',
      `the directory of the result file ${resultPath} does not exist or is not a directory`,
    );
  }
  if (statOrUndefined(() => lstatSync(resultPath))?.isDirectory()) {
    throw new TransferError('BT_ERR_NOT_A_FILE', `the result file ${resultPath} is a directory`);
  }
}
