import { join } from 'node:path';
import type { UploadOperation } from '../../src/index.ts';
import type { IetfTestServer } from './ietf-server.ts';
import { multipartMatches } from './multipart-check.ts';
import type { TusTestServer } from './tus-server.ts';
import type { RecordedRequest } from './upload-server.ts';

/**
 * The chaos test's verdict on each completed upload, from what its server stored: ok, corrupt,
 * duplicated (the server took its bytes twice) or lost.
 */

/** What the plain server processed at one upload's path, and the repeats it dropped (Idempotency-Key). */
export interface PlainDelivery {
  processed: RecordedRequest[];
  repeats: number;
  unkeyed: number;
}

export interface ChaosServers {
  tus: TusTestServer;
  draft: IetfTestServer;
  /** Per plain upload path (plainPath). */
  plainDeliveries: ReadonlyMap<string, PlainDelivery>;
}

/** An upload as the verdict needs it. */
export interface DeliveredUpload {
  index: number;
  /** `ietf`, `plain-…`, or a tus kind (`multipart` among them). */
  kind: string;
  size: number;
  /** Hex sha256 of the bytes the app asked to upload (for multipart: of the file part). */
  sha256: string;
  operation: UploadOperation;
  /** Multipart: the text part's value. */
  text?: string;
}

/** The plain server's path of upload `index`. */
export function plainPath(index: number): string {
  return `/plain/${index}`;
}

export type Verdict = 'ok' | 'corrupt' | 'duplicated' | 'lost';

export async function verify(upload: DeliveredUpload, servers: ChaosServers): Promise<Verdict> {
  const { tus, draft, plainDeliveries } = servers;
  const info = upload.operation.getResponseInformation();
  if (!info || info.statusCode < 200 || info.statusCode >= 300) return 'lost';
  if (upload.kind === 'ietf') {
    const id = draft.uploadId(info.headers.get('Location') ?? info.actualUri.absoluteUri);
    const stored = draft.uploads.get(id);
    if (!stored?.complete) return 'lost';
    if ((await draft.sha256(id)) !== upload.sha256) return 'corrupt';
    return stored.receivedBytes === upload.size ? 'ok' : 'duplicated';
  }
  if (upload.kind.startsWith('plain')) {
    const entry = plainDeliveries.get(plainPath(upload.index));
    if (!entry || entry.processed.length === 0) return 'lost';
    if (entry.processed.some((request) => request.sha256 !== upload.sha256)) return 'corrupt';
    return entry.processed.length === 1 ? 'ok' : 'duplicated';
  }
  const id = tus.uploadIdOfResponse(info);
  if (!tus.exists(id)) return 'lost';
  const total = upload.operation.progress.totalBytesToSend;
  if (tus.receivedBytes(id) !== total) return tus.receivedBytes(id) > total ? 'duplicated' : 'lost';
  if (upload.kind === 'multipart')
    return (await multipartMatches(join(tus.directory, id), { note: upload.text ?? '' }, upload.sha256))
      ? 'ok'
      : 'corrupt';
  return (await tus.sha256(id)) === upload.sha256 ? 'ok' : 'corrupt';
}
