import type { ExitCode } from './exit-codes.ts';
import { runAlone } from './run-alone.ts';
import type { PlainTransfer } from './transfer-argv.ts';

/**
 * A plain `upload` or `download` (transfer-argv.ts) run without the command tree: the same functions
 * the commands' actions call (upload-request.ts, download-request.ts), only the one it needs loaded.
 */
export function runTransferAlone(transfer: PlainTransfer): Promise<ExitCode> {
  return runAlone(async (context) => {
    if (transfer.kind === 'upload') {
      const { runUpload } = await import('./upload-request.ts');
      context.exitCode = await runUpload(context, transfer.request);
    } else {
      const { runDownload } = await import('./download-request.ts');
      context.exitCode = await runDownload(context, transfer.request);
    }
  });
}
