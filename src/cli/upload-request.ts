import { resolve } from 'node:path';
import { BackgroundUploader } from '../api/background-uploader.ts';
import { UploadOperation } from '../api/upload-operation.ts';
import { BackgroundTransferCostPolicy, BackgroundTransferPriority } from '../core/enums.ts';
import type { OperationSpec } from '../core/snapshot.ts';
import { type COST_POLICY_NAMES, type PRIORITY_NAMES, parseHeaderLine } from './transfer-options.ts';

/** What `bgtransfer upload` was given (docs/api/cli.md). */
export interface UploadRequest {
  file: string;
  url: string;
  method: string;
  /** Each as typed: "Name: value". */
  headers: readonly string[];
  priority: (typeof PRIORITY_NAMES)[number];
  costPolicy: (typeof COST_POLICY_NAMES)[number];
  group: string | undefined;
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
