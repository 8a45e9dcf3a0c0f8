import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { validateHeader, validateMethod, validateUri } from '../api/validation.ts';
import { BackgroundTransferCostPolicy, BackgroundTransferPriority } from '../core/enums.ts';
import { TransferError } from '../core/errors.ts';
import { withHeader } from '../core/header-list.ts';
import { DEFAULT_EXTRAS } from '../core/operation-extras.ts';
import type { OperationSpec } from '../core/snapshot.ts';
import { inspectSourceFile } from '../source/file-source.ts';

export const PRIORITY_NAMES = ['default', 'high', 'low'] as const;
export const COST_POLICY_NAMES = ['default', 'unrestrictedOnly', 'always'] as const;

/** What `bgtransfer upload` was given (spec/contract.md §5). */
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
 * Turns the command line into the spec the port starts, with the API's own checks (api/validation.ts,
 * the file inspection createUpload does), so bad input is a coded error before anything is queued.
 * It mirrors BackgroundUploader.createUpload (method default POST, R6; repeated headers joined, R63).
 */
export function buildUploadSpec(request: UploadRequest, appId: string): OperationSpec & { sourcePath: string } {
  const url = validateUri(request.url);
  // As BackgroundUploader does: POST by default (R6), STOR for ftp:// and ftps:// (issue 5 §4).
  const isFtp = url.protocol === 'ftp:' || url.protocol === 'ftps:';
  const method = validateMethod(isFtp && request.method === 'POST' ? 'STOR' : request.method);
  let headers: Array<[string, string]> = [];
  for (const line of request.headers) {
    const [name, value] = parseHeaderLine(line);
    headers = withHeader(headers, name, value);
  }
  if (request.group !== undefined && request.group.length === 0) {
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', '--group must not be empty');
  }
  const source = inspectSourceFile(resolve(request.file));
  return {
    guid: randomUUID(),
    appId,
    method,
    requestedUri: url.href,
    sourcePath: source.path,
    headers,
    costPolicy: BackgroundTransferCostPolicy[request.costPolicy],
    priority: BackgroundTransferPriority[request.priority],
    group: request.group ?? null,
    transferGroup: null,
    // The file itself is the raw body (CreateUpload); resume protocol "auto" as in the API's default.
    extras: { ...DEFAULT_EXTRAS, body: { kind: 'file' } },
  };
}

/** "Name: value" → [name, value], checked like setRequestHeader (BT_ERR_INVALID_HEADER). */
export function parseHeaderLine(line: string): [string, string] {
  const colon = line.indexOf(':');
  if (colon <= 0) {
    throw new TransferError(
      'BT_ERR_INVALID_HEADER',
      `--header must look like "Name: value", got ${JSON.stringify(line)}`,
    );
  }
  return validateHeader(line.slice(0, colon).trim(), line.slice(colon + 1));
}
