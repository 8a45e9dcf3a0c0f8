import { basename, resolve } from 'node:path';
import { BackgroundDownloader } from '../api/background-downloader.ts';
import { DownloadOperation } from '../api/download-operation.ts';
import { BackgroundTransferCostPolicy, BackgroundTransferPriority } from '../core/enums.ts';
import { redactUrl } from '../core/redact.ts';
import type { OperationSpec } from '../core/snapshot.ts';
import { type CliContext, cliAppId } from './context.ts';
import type { ExitCode } from './exit-codes.ts';
import { parseHeaderLine } from './header-line.ts';
import { startAndFollow } from './run-transfer.ts';
import type { TransferChoices } from './transfer-choices.ts';

/** What `bgtransfer download` was given (docs/api/cli.md), from the command tree or the lean path alike. */
export interface DownloadRequest extends TransferChoices {
  url: string;
  file: string;
}

/**
 * Turns the command line into the spec the port starts, through BackgroundDownloader.createDownload
 * itself (its checks of the URI and the result path, GET, D1–D3), so bad input is a coded error before
 * anything is queued and the CLI cannot drift from the API.
 */
export function buildDownloadSpec(request: DownloadRequest, appId: string): OperationSpec {
  const downloader = new BackgroundDownloader();
  downloader.costPolicy = BackgroundTransferCostPolicy[request.costPolicy];
  if (request.group !== undefined) downloader.group = request.group;
  for (const line of request.headers) downloader.setRequestHeader(...parseHeaderLine(line));
  const operation = downloader.createDownload(request.url, resolve(request.file));
  operation.priority = BackgroundTransferPriority[request.priority];
  return { ...DownloadOperation.specOf(operation), appId };
}

/** `bgtransfer download URL FILE …`: the one implementation both command-line paths run. */
export function runDownload(context: CliContext, request: DownloadRequest): Promise<ExitCode> {
  const appId = cliAppId(context);
  const spec = buildDownloadSpec(request, appId);
  return startAndFollow(context, {
    kind: 'download',
    appId,
    spec,
    label: basename(request.file),
    describe: () => `downloading ${redactUrl(spec.requestedUri)} to ${resolve(request.file)} with ${spec.method}`,
    detach: request.detach,
    json: request.json,
  });
}
