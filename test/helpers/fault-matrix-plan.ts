import { BackgroundUploader, type UploadOperation } from '../../src/index.ts';
import { watchConnections } from './fault-matrix-watch.ts';
import { type FaultPlan, type FaultProxy, startFaultProxy } from './fault-proxy.ts';
import type { IetfTestServer } from './ietf-server.ts';
import { shuffle } from './seeded-random.ts';
import { type RandomFile, writeRandomFile } from './temp-dir.ts';
import type { TusTestServer } from './tus-server.ts';
import type { UploadServer } from './upload-server.ts';

/**
 * The fault matrix's plan (test/integration/fault-matrix.test.ts): its sizes and limits, what an
 * upload and a kill are, and the seeded choice of each upload's server, size and faults.
 */

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const UPLOADS = 50;
export const MIN_SIZE = 64 * KiB;
export const MAX_SIZE = 6 * MiB;
/** Faults land in body bytes: every request head (OPTIONS, POST, HEAD, PATCH/PUT) is far smaller. */
export const MIN_FAULT_OFFSET = 16 * KiB;
export const STALL_TIMEOUT_MS = 1_000;
/**
 * The stall timer watches the client handing body bytes to the connection; when the proxy stalls,
 * the client can still hand over ~5–6.5 MiB (its send buffer and the proxy's receive buffer, measured
 * here), and a stall in that last stretch of a body is not caught by it at all (see the stall-tail test). So
 * the stalled uploads are 12–14 MiB and stall within their first 2 MiB.
 */
export const STALL_UPLOAD_MIN_SIZE = 12 * MiB;
export const RESPONSE_TIMEOUT_MS = 5_000;
export const STALL_MAX_OFFSET = 2 * MiB;
/** Per proxied connection; 8 at once stay below what the servers (in this process) can take. */
export const LINK_BYTES_PER_SECOND = 4 * MiB;
/**
 * The link of an upload without a stall until the planned host kills are done (openLinks). Kills are
 * planned by bytes sent, and each is held back by the wait for a new host, the re-attach and any stall
 * still pending (up to 5 s): at the full rate a quiet run could send its last byte meanwhile and lose
 * the later kills. At this rate the bytes after the last planned fraction take well over that wait.
 * Stalled uploads keep the full rate: their detection time is measured against the link's drain time.
 */
export const KILL_PHASE_LINK_BYTES_PER_SECOND = 1 * MiB;
export const CONFIG = {
  retryBaseDelayMs: 50,
  maxAttempts: 10,
  maxConcurrentTransfers: 8,
  stallTimeoutMs: STALL_TIMEOUT_MS,
  // R48: short here, so a stall in a body's tail (see the tail test) is caught within the test's time.
  responseTimeoutMs: RESPONSE_TIMEOUT_MS,
};
/**
 * Beyond the kernel buffers the calibration measures: the proxy's read chunk (64 KiB) that a RST drops,
 * and request heads the accounting does not see (a head cut by a SIGKILL).
 */
export const IN_FLIGHT_SLACK_BYTES = 256 * KiB;
export const TEST_TIMEOUT_MS = 180_000;

export type ServerKind = 'tus' | 'ietf' | 'plain';
export const KINDS: readonly ServerKind[] = ['tus', 'ietf', 'plain'];

export interface Progress {
  atMs: number;
  bytesSent: number;
  status: number;
}

export interface Upload {
  index: number;
  kind: ServerKind;
  size: number;
  file: RandomFile;
  proxy: FaultProxy;
  /** The faults for this upload, in order: each becomes the proxy's plan once the previous one fired. */
  plans: FaultPlan[];
  /** How many of `plans` fired. */
  stage: number;
  /** The link rate of this upload's next connections. */
  linkBytesPerSecond: number;
  uri: string;
  operation: UploadOperation;
  /** startAsync()'s promise (with a progress handler). */
  started: Promise<UploadOperation>;
  /** attachAsync() on the operation as enumerated after the first host kill (a second observer). */
  attached?: Promise<UploadOperation>;
  progress: Progress[];
}

export interface Kill {
  pid: number;
  atMs: number;
  /** When a new host answered `status`. */
  newHostAtMs: number;
  newPid: number;
  /** Uploads with a connection open at the kill. */
  inFlight: number[];
}

/** The matrix's three servers. */
export interface MatrixServers {
  tus: TusTestServer;
  draft: IetfTestServer;
  plain: UploadServer;
}

/** What planning and starting the uploads needs from the test. */
export interface PlanContext {
  random: () => number;
  /** Where the upload files are written. */
  dir: string;
  servers: MatrixServers;
  /** Every proxy started goes here, to be closed after the tests. */
  proxies: FaultProxy[];
}

export async function startUploads(ctx: PlanContext): Promise<Upload[]> {
  const { random, servers, proxies } = ctx;
  const { tus, draft, plain } = servers;
  const kinds = shuffle(
    random,
    Array.from({ length: UPLOADS }, (_, index) => KINDS[index % KINDS.length]!),
  );
  const stallsLeft: Record<ServerKind, number> = { tus: 2, ietf: 2, plain: 2 };
  const uploads: Upload[] = [];
  for (let index = 0; index < UPLOADS; index++) {
    const kind = kinds[index]!;
    const stall = stallsLeft[kind] > 0;
    if (stall) stallsLeft[kind] -= 1;
    const size = stall
      ? STALL_UPLOAD_MIN_SIZE + Math.floor(random() * 2 * MiB)
      : MIN_SIZE + Math.floor(random() * (MAX_SIZE - MIN_SIZE));
    const first = stall ? faultOffset(random, STALL_MAX_OFFSET / 0.9) : faultOffset(random, size);
    const plans: FaultPlan[] = [stall ? { stallAfterUpstreamBytes: first } : { resetAfterUpstreamBytes: first }];
    // A second fault on a later connection: for a resumable upload the resumed request, which carries
    // what the server does not have yet; a plain PUT starts over with the whole body.
    const rest = kind === 'plain' ? size : size - first;
    if (random() < 0.5 && rest >= 4 * MIN_FAULT_OFFSET)
      plans.push({ resetAfterUpstreamBytes: faultOffset(random, rest) });
    const target = kind === 'tus' ? tus : kind === 'ietf' ? draft : plain;
    // The fault is the plan of every connection until it fires (onFault moves on): a connection
    // that only carries a probe (a few hundred bytes) never reaches it, whichever connection that is.
    const linkBytesPerSecond = stall ? LINK_BYTES_PER_SECOND : KILL_PHASE_LINK_BYTES_PER_SECOND;
    const proxy = await startFaultProxy(target.port, {
      defaultPlan: { ...plans[0], throttleBytesPerSecond: linkBytesPerSecond },
    });
    proxies.push(proxy);
    watchConnections(proxy, () => {
      const upload = uploads[index]!;
      upload.stage += 1;
      proxy.setDefaultPlan(nextPlan(upload));
    });
    // tus: the creation endpoint; the others: a path of its own.
    const uri = kind === 'tus' ? `${proxy.url}/files/` : `${proxy.url}/${kind}/${index}`;
    const file = await writeRandomFile(ctx.dir, `upload-${index}.bin`, size);

    // One uploader per upload: setRequestHeader joins repeated names (R63). Every request names its
    // upload, so that the servers' records can be attributed.
    const uploader = new BackgroundUploader();
    uploader.method = 'PUT';
    uploader.setRequestHeader('X-Fault-Upload', String(index));
    const operation = uploader.createUpload(uri, file.path);
    const progress: Progress[] = [];
    const started = Promise.resolve(
      operation.startAsync().then(undefined, undefined, (op) => {
        progress.push({ atMs: performance.now(), bytesSent: op.progress.bytesSent, status: op.progress.status });
      }),
    );
    uploads.push({
      index,
      kind,
      size,
      file,
      proxy,
      plans,
      stage: 0,
      linkBytesPerSecond,
      uri,
      operation,
      started,
      progress,
    });
  }
  return uploads;
}

/** The plan of an upload's next connection: its next fault, if any is left, on its link. */
function nextPlan(upload: Upload): FaultPlan {
  return { ...upload.plans[upload.stage], throttleBytesPerSecond: upload.linkBytesPerSecond };
}

/** The planned kills are done: every upload's next connections get the full link rate. */
export function openLinks(uploads: Upload[]): void {
  for (const upload of uploads) {
    upload.linkBytesPerSecond = LINK_BYTES_PER_SECOND;
    upload.proxy.setDefaultPlan(nextPlan(upload));
  }
}

/** A cut between MIN_FAULT_OFFSET and 90 % of `bytes`: always in a body, never after its end. */
export function faultOffset(random: () => number, bytes: number): number {
  return MIN_FAULT_OFFSET + Math.floor(random() * Math.max(1, bytes * 0.9 - MIN_FAULT_OFFSET));
}
