import { resolve } from 'node:path';
import { BackgroundDownloader } from '../api/background-downloader.ts';
import { DownloadOperation } from '../api/download-operation.ts';
import { BackgroundTransferCostPolicy, BackgroundTransferPriority } from '../core/enums.ts';
import type { OperationSpec } from '../core/snapshot.ts';
import { type COST_POLICY_NAMES, type PRIORITY_NAMES, parseHeaderLine } from './transfer-options.ts';

/** What `bgtransfer download` was given (docs/api/cli.md). */
export interface DownloadRequest {
  url: string;
  file: string;
  /** Each as typed: "Name: value". */
  headers: readonly string[];
  priority: (typeof PRIORITY_NAMES)[number];
  costPolicy: (typeof COST_POLICY_NAMES)[number];
  group: string | undefined;
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
