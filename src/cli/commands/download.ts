import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { type DownloadRequest, runDownload } from '../download-request.ts';
import type { ExitCode } from '../exit-codes.ts';
import { addTransferOptions, type TransferOptions, transferChoices } from '../transfer-options.ts';

const EXAMPLES = `
Examples:
  $ bgtransfer download https://example.com/big.iso big.iso
  $ bgtransfer download https://example.com/v/1.mp4 video.mp4 -H "Authorization: Bearer $TOKEN"
  $ id=$(bgtransfer download https://example.com/big.iso big.iso --detach) && bgtransfer watch "$id"
  $ bgtransfer download https://example.com/data.csv data.csv --json | jq -c '{bytesReceived, status}'

The download is durable: it is stored before it starts, survives the end of this command (Ctrl-C detaches,
and --detach returns at once) and a restart of the transfer host. FILE holds the whole body only once the
download completed: the bytes go to a hidden partial file beside it, renamed onto FILE at the end, so an
existing FILE is replaced only then (D9). An interrupted download resumes with a range request where the
server allows it, and starts over where it does not (D23, D25).
Exit codes: 0 completed with a 2xx answer, 1 failed or canceled, 2 bad input, 3 host unreachable.`;

/**
 * `bgtransfer download URL FILE …` (docs/api/cli.md). `run` is runDownload; a test passes another to
 * see what the command line became.
 */
export function defineDownloadCommand(
  command: Command,
  context: CliContext,
  run: (context: CliContext, request: DownloadRequest) => Promise<ExitCode> = runDownload,
): void {
  command
    .description('queue a durable download of URL into FILE and show its progress until it ends')
    .argument('<url>', 'an absolute http(s) URL')
    .argument('<file>', 'where the body goes (replaced only once the download completed)');
  addTransferOptions(command, 'download')
    .addHelpText('after', EXAMPLES)
    .action(async (url: string, file: string, options: TransferOptions) => {
      context.exitCode = await run(context, { url, file, ...transferChoices(options) });
    });
}
