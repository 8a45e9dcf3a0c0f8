import { TransferError } from '../core/errors.ts';
import type { RequestBody } from '../core/operation-extras.ts';
import { checkDownloadUri, checkFtpDownload, checkResultPath } from '../core/request-checks.ts';
import { checkResultLocation } from '../core/result-location.ts';
import type { ListFilter, OperationSnapshot } from '../core/snapshot.ts';
import { inspectSourceFile } from '../source/file-source.ts';
import { assertUploadStream } from '../source/stream-spool.ts';
import { BackgroundTransferBase } from './background-transfer-base.ts';
import type { BackgroundTransferCompletionGroup } from './background-transfer-completion-group.ts';
import { BackgroundTransferGroup } from './background-transfer-group.ts';
import { DownloadOperation } from './download-operation.ts';
import { currentAppId, getPort } from './port-provider.ts';
import { type FileLike, filePathOf } from './storage-file.ts';
import { type UriLike, validateUri } from './validation.ts';
import { asVectorView, type VectorView } from './vector-view.ts';

/**
 * BackgroundDownloader (docs/downloads.md): the download side of Background Transfer, configured like
 * BackgroundUploader (background-transfer-base.ts) with GET as its default method. Its operations run on
 * the same host, scheduler, groups, cost policy, retries, credentials and proxies as uploads.
 */
export class BackgroundDownloader extends BackgroundTransferBase {
  /** Every operation this downloader creates joins `completionGroup` (R78). */
  constructor(completionGroup?: BackgroundTransferCompletionGroup) {
    super('GET', completionGroup);
  }

  /**
   * Creates (does not start) a download of `uri` (http, https, ftp or ftps) into `resultFile` (a StorageFile or a path; it need
   * not exist, its directory must). With `requestBodyFile`, that file is sent as the request body (e.g.
   * a POST that answers with the body to download). Bad input throws a coded error here.
   */
  createDownload(uri: UriLike, resultFile: FileLike, requestBodyFile?: FileLike): DownloadOperation {
    const url = checkDownloadUri(validateUri(uri).href);
    const resultPath = checkResultPath(filePathOf(resultFile));
    checkResultLocation(resultPath);
    checkFtpDownload(url, this.method, requestBodyFile !== undefined && requestBodyFile !== null);
    if (requestBodyFile === undefined || requestBodyFile === null) {
      return this.#operation(url, resultPath, null, { kind: 'none' }, 0);
    }
    const source = inspectSourceFile(filePathOf(requestBodyFile));
    return this.#operation(url, resultPath, source.path, { kind: 'file' }, source.size);
  }

  /** A download whose request body is a stream, spooled first so the download survives the app's exit. */
  async createDownloadAsync(
    uri: UriLike,
    resultFile: FileLike,
    requestBodyStream: NodeJS.ReadableStream | ReadableStream<Uint8Array>,
  ): Promise<DownloadOperation> {
    const url = checkDownloadUri(validateUri(uri).href);
    const resultPath = checkResultPath(filePathOf(resultFile));
    checkResultLocation(resultPath);
    checkFtpDownload(url, this.method, true);
    assertUploadStream(requestBodyStream);
    this.completionGroup?.assertOpenForMembers();
    return this.spoolStream(requestBodyStream, (body, size) => this.#operation(url, resultPath, null, body, size));
  }

  #operation(
    url: URL,
    resultPath: string,
    sourcePath: string | null,
    body: RequestBody,
    size: number,
  ): DownloadOperation {
    const spec = { ...this.newSpec(url, this.method, sourcePath, body), download: { resultPath } };
    return DownloadOperation.fromSpec(spec, size, this.completionGroup);
  }

  /** The calling app's downloads that have no group (R22 for downloads). */
  static getCurrentDownloadsAsync(group?: string): Promise<VectorView<DownloadOperation>> {
    if (group === undefined) return enumerate({ kind: 'ungrouped' });
    if (typeof group !== 'string') {
      return Promise.reject(new TransferError('BT_ERR_INVALID_ARGUMENT', 'group must be a string'));
    }
    return enumerate({ kind: 'group', group });
  }

  /** The calling app's downloads in `group` (R24 for downloads). */
  static getCurrentDownloadsForTransferGroupAsync(
    group: BackgroundTransferGroup,
  ): Promise<VectorView<DownloadOperation>> {
    if (!(group instanceof BackgroundTransferGroup)) {
      return Promise.reject(new TransferError('BT_ERR_INVALID_ARGUMENT', 'expected a BackgroundTransferGroup'));
    }
    return enumerate({ kind: 'transferGroup', name: group.name });
  }
}

async function enumerate(filter: ListFilter): Promise<VectorView<DownloadOperation>> {
  const port = await getPort();
  const snapshots: OperationSnapshot[] = await port.call('list', currentAppId(), { filter, direction: 'download' });
  return asVectorView(DownloadOperation.fromSnapshots(snapshots, port));
}
