import { basename } from 'node:path';
import type { Command } from 'commander';
import { redactUrl } from '../../core/redact.ts';
import { type CliContext, cliAppId } from '../context.ts';
import type { ExitCode } from '../exit-codes.ts';
import { formatBytes } from '../format.ts';
import { startAndFollow } from '../run-transfer.ts';
import { addTransferOptions, type TransferOptions } from '../transfer-options.ts';
import { buildUploadSpec } from '../upload-request.ts';

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

/** `bgtransfer upload FILE URL …` (docs/api/cli.md). */
export function defineUploadCommand(command: Command, context: CliContext): void {
  command
    .description('queue a durable upload of FILE to URL and show its progress until it ends')
    .argument('<file>', 'the file to send as the request body')
    .argument('<url>', 'an absolute http(s) URL')
    .option('-X, --method <method>', 'the HTTP method (PUT, PATCH, …)', 'POST');
  addTransferOptions(command, 'upload')
    .addHelpText('after', EXAMPLES)
    .action(async (file: string, url: string, options: UploadOptions) => {
      context.exitCode = await runUpload(context, { file, url, ...options });
    });
}

async function runUpload(
  context: CliContext,
  options: UploadOptions & { file: string; url: string },
): Promise<ExitCode> {
  const appId = cliAppId(context);
  const spec = buildUploadSpec(
    {
      file: options.file,
      url: options.url,
      method: options.method,
      headers: options.header ?? [],
      priority: options.priority,
      costPolicy: options.costPolicy,
      group: options.group,
    },
    appId,
  );
  const fileName = basename(options.file);
  return startAndFollow(context, {
    kind: 'upload',
    appId,
    spec,
    label: fileName,
    describe: (started) =>
      `uploading ${fileName} (${formatBytes(started.progress.totalBytesToSend)}) to ${redactUrl(spec.requestedUri)} with ${spec.method}`,
    detach: options.detach ?? false,
    json: options.json ?? false,
  });
}
