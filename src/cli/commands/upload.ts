import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import type { ExitCode } from '../exit-codes.ts';
import { addTransferOptions, type TransferOptions, transferChoices } from '../transfer-options.ts';
import { runUpload, type UploadRequest } from '../upload-request.ts';

interface UploadOptions extends TransferOptions {
  method: string;
}

const EXAMPLES = `
Examples:
  $ bgtransfer upload backup.tar https://example.com/upload
  $ bgtransfer upload video.mp4 https://example.com/v/1 --method PUT -H "Authorization: Bearer $TOKEN"
  $ id=$(bgtransfer upload big.iso https://example.com/iso --method PUT --detach) && bgtransfer watch "$id"
  $ bgtransfer upload data.csv https://example.com/in --json | jq -c '{bytesSent, status}'

The upload is durable: it is stored before it starts, survives the end of this command (Ctrl-C detaches,
and --detach returns at once) and a restart of the transfer host. Without a resumable server an
interrupted PUT is sent again from byte 0 and an interrupted POST fails (as on Windows, R12, R38).
Exit codes: 0 completed with a 2xx answer, 1 failed or canceled, 2 bad input, 3 host unreachable.`;

/**
 * `bgtransfer upload FILE URL …` (docs/api/cli.md). `run` is runUpload; a test passes another to see
 * what the command line became.
 */
export function defineUploadCommand(
  command: Command,
  context: CliContext,
  run: (context: CliContext, request: UploadRequest) => Promise<ExitCode> = runUpload,
): void {
  command
    .description('queue a durable upload of FILE to URL and show its progress until it ends')
    .argument('<file>', 'the file to send as the request body')
    .argument('<url>', 'an absolute http(s) URL')
    .option('-X, --method <method>', 'the HTTP method (PUT, PATCH, …)', 'POST');
  addTransferOptions(command, 'upload')
    .addHelpText('after', EXAMPLES)
    .action(async (file: string, url: string, options: UploadOptions) => {
      context.exitCode = await run(context, { file, url, method: options.method, ...transferChoices(options) });
    });
}
