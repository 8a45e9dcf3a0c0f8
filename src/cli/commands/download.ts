import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { redactUrl } from '../../core/redact.ts';
import { type CliContext, cliAppId } from '../context.ts';
import { buildDownloadSpec } from '../download-request.ts';
import type { ExitCode } from '../exit-codes.ts';
import { startAndFollow } from '../run-transfer.ts';
import { addTransferOptions, type TransferOptions } from '../transfer-options.ts';

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

/** `bgtransfer download URL FILE …` (docs/api/cli.md). */
export function defineDownloadCommand(command: Command, context: CliContext): void {
  command
    .description('queue a durable download of URL into FILE and show its progress until it ends')
    .argument('<url>', 'an absolute http(s) URL')
    .argument('<file>', 'where the body goes (replaced only once the download completed)');
  addTransferOptions(command, 'download')
    .addHelpText('after', EXAMPLES)
    .action(async (url: string, file: string, options: TransferOptions) => {
      context.exitCode = await runDownload(context, { url, file, ...options });
    });
}

async function runDownload(
  context: CliContext,
  options: TransferOptions & { url: string; file: string },
): Promise<ExitCode> {
  const appId = cliAppId(context);
  const spec = buildDownloadSpec(
    {
      url: options.url,
      file: resolve(options.file),
      headers: options.header ?? [],
      priority: options.priority,
      costPolicy: options.costPolicy,
      group: options.group,
    },
    appId,
  );
  const fileName = basename(options.file);
  return startAndFollow(context, {
    kind: 'download',
    appId,
    spec,
    label: fileName,
    describe: () => `downloading ${redactUrl(spec.requestedUri)} to ${resolve(options.file)} with ${spec.method}`,
    detach: options.detach ?? false,
    json: options.json ?? false,
  });
}
