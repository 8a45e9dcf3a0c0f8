import { basename, resolve } from 'node:path';
import { BackgroundUploader } from '../api/background-uploader.ts';
import { UploadOperation } from '../api/upload-operation.ts';
import { BackgroundTransferCostPolicy, BackgroundTransferPriority } from '../core/enums.ts';
import { redactUrl } from '../core/redact.ts';
import type { OperationSpec } from '../core/snapshot.ts';
import { type CliContext, cliAppId } from './context.ts';
import type { ExitCode } from './exit-codes.ts';
import { formatBytes } from './format.ts';
import { parseHeaderLine } from './header-line.ts';
import { startAndFollow } from './run-transfer.ts';
import type { TransferChoices } from './transfer-choices.ts';

/** What `bgtransfer upload` was given (docs/api/cli.md), from the command tree or the lean path alike. */
export interface UploadRequest extends TransferChoices {
  file: string;
  url: string;
  method: string;
}

/**
 * Turns the command line into the spec the port starts, through BackgroundUploader.createUpload itself
 * (its checks, its defaults: POST or STOR for ftp, R6; repeated headers joined, R63), so bad input is a
 * coded error before anything is queued and the CLI cannot drift from the API.
 */
export function buildUploadSpec(request: UploadRequest, appId: string): OperationSpec {
  const uploader = new BackgroundUploader();
  uploader.method = request.method;
  uploader.costPolicy = BackgroundTransferCostPolicy[request.costPolicy];
  if (request.group !== undefined) uploader.group = request.group;
  for (const line of request.headers) uploader.setRequestHeader(...parseHeaderLine(line));
  const operation = uploader.createUpload(request.url, resolve(request.file));
  operation.priority = BackgroundTransferPriority[request.priority];
  return { ...UploadOperation.specOf(operation), appId };
}

/** `bgtransfer upload FILE URL …`: the one implementation both command-line paths run. */
export function runUpload(context: CliContext, request: UploadRequest): Promise<ExitCode> {
  const appId = cliAppId(context);
  const spec = buildUploadSpec(request, appId);
  const fileName = basename(request.file);
  return startAndFollow(context, {
    kind: 'upload',
    appId,
    spec,
    label: fileName,
    describe: (started) =>
      `uploading ${fileName} (${formatBytes(started.progress.totalBytesToSend)}) to ${redactUrl(spec.requestedUri)} with ${spec.method}`,
    detach: request.detach,
    json: request.json,
  });
}
