import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BackgroundTransferContentPart,
  BackgroundUploader,
  closeAsync,
  type UploadOperation,
} from '../../src/index.ts';
import { hostStatus, stopHost } from '../../src/ipc/host-control.ts';
import { type PlainDelivery, plainPath, verify } from '../helpers/chaos-verify.ts';
import { stats } from '../helpers/fault-matrix-report.ts';
import { type FaultPlan, type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { type IetfTestServer, startIetfServer } from '../helpers/ietf-server.ts';
import { mulberry32, shuffle } from '../helpers/seeded-random.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startTusServer, type TusRequestRecord, type TusTestServer } from '../helpers/tus-server.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * The chaos run: every upload arrives exactly once. CHAOS_UPLOADS (default 200) mixed uploads through the
 * public API and a real transfer host (BGTRANSFER_HOST=auto; this process is the app): tus with the
 * default method POST and with PUT, multipart and stream bodies over tus (POST), the IETF draft (PUT,
 * found by "auto"), plain PUT and plain POST. Each goes through its own fault proxy (a throttled link)
 * with one or two faults from a seeded PRNG: connection resets in the body, truncated responses (cut
 * in the answer's head or body), and stalls for the large ones. Meanwhile the host is SIGKILLed at
 * least 50 times at random moments, every fourth time while a tus creation request waits at the
 * server for its answer.
 *
 * Counted and asserted: 0 lost (every upload completes, except plain POSTs terminated by R12 — a plain
 * POST body interrupted by the death of its process is reported to the app, never re-sent), 0 corrupt
 * (sha256 at the server), 0 duplicated (the tus and draft servers never read a byte of the completed
 * upload twice; the plain server processes each upload's body once — it honours Idempotency-Key and
 * counts the repeats it dropped), no resumable upload terminated. One summary line is printed with the
 * seed; CHAOS_SEED=<seed> replays the plan (timing still varies).
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const UPLOADS = Number(process.env.CHAOS_UPLOADS ?? 200);
const MIN_KILLS = Number(process.env.CHAOS_KILLS ?? 50);
const MIX = [
  ['tus-post', 45],
  ['tus-put', 25],
  ['multipart', 15],
  ['stream', 15],
  ['ietf', 35],
  ['plain-put', 35],
  ['plain-post', 30],
] as const;
type Kind = (typeof MIX)[number][0];
const LINK_BYTES_PER_SECOND = 2 * MiB;
const CONFIG = {
  retryBaseDelayMs: 50,
  maxAttempts: 20,
  maxConcurrentTransfers: 6,
  stallTimeoutMs: 1_000,
  responseTimeoutMs: 5_000,
};
const TEST_TIMEOUT_MS = 600_000;

interface Upload {
  index: number;
  kind: Kind;
  size: number;
  /** Hex sha256 of the bytes the app asked to upload (for multipart: of the file part). */
  sha256: string;
  proxy: FaultProxy;
  plans: FaultPlan[];
  operation: UploadOperation;
  outcome: Promise<string>;
  /** Multipart: the text part's value. */
  text?: string;
}

const seed = Number(process.env.CHAOS_SEED ?? randomInt(2 ** 31));
const random = mulberry32(seed);
/** Kill timing has its own sequence: how many draws the killer makes depends on timing. */
const killRandom = mulberry32(seed ^ 0x5bd1e995);
/** Uploads started before the first kill; the rest come in waves after each kill. */
const FIRST_WAVE = Math.min(UPLOADS, 24);
let temp: TempDir;
let home: string;
let tus: TusTestServer;
let draft: IetfTestServer;
let plain: UploadServer;
/** Per plain upload path: the Idempotency-Keys whose body the server processed, and the repeats it dropped. */
const plainDeliveries = new Map<string, PlainDelivery>();
/** Set by the killer: the next tus creation request is held at the server until the host is killed. */
let holdNextCreation: ((request: TusRequestRecord) => void) | null = null;
let releaseCreation: () => void = () => {};

before(async () => {
  console.log(`chaos seed ${seed} (replay: CHAOS_SEED=${seed})`);
  temp = await makeTempDir('bt-chaos-');
  home = join(temp.path, 'home');
  await mkdir(home, { recursive: true, mode: 0o700 });
  await writeFile(join(home, 'config.json'), JSON.stringify(CONFIG));
  process.env.BGTRANSFER_HOME = home;
  process.env.BGTRANSFER_HOST = 'auto';
  process.env.BGTRANSFER_APP_ID = 'chaos';
  process.env.BGTRANSFER_LOG_LEVEL = 'error';
  [tus, draft, plain] = await Promise.all([
    startTusServer({
      beforeHandle: (request) => {
        if (request.method !== 'POST' || holdNextCreation === null) return undefined;
        const seen = holdNextCreation;
        holdNextCreation = null;
        seen(request);
        return new Promise<void>((resolve) => {
          releaseCreation = resolve;
        });
      },
    }),
    startIetfServer(),
    startUploadServer(),
  ]);
});

after(async () => {
  releaseCreation();
  await stopHost(home).catch(() => false);
  await closeAsync();
  await Promise.all([tus?.close(), draft?.close(), plain?.close()]);
  if (process.env.CHAOS_KEEP) console.log(`kept ${temp?.path}`);
  else await temp?.cleanup();
});

test(`chaos: ${UPLOADS} mixed uploads, resets, stalls, truncated answers and ${MIN_KILLS}+ host SIGKILLs arrive exactly once`, {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const startedAt = performance.now();
  const planned = planUploads();
  const uploads: Upload[] = [];
  // Uploads start in waves between the kills, so that the kills fall on a busy host from first to last.
  const startMore = async (count: number): Promise<void> => {
    for (const next of planned.splice(0, count)) uploads.push(await startOne(next));
  };
  await startMore(FIRST_WAVE);
  const kills = await killHosts(uploads, planned, startMore);
  const results = await Promise.all(uploads.map((upload) => upload.outcome));
  const seconds = (performance.now() - startedAt) / 1000;

  let lost = 0;
  let corrupt = 0;
  let duplicated = 0;
  let resumableTerminated = 0;
  let terminatedPosts = 0;
  const problems: string[] = [];
  for (const [position, upload] of uploads.entries()) {
    const outcome = results[position] ?? '';
    const label = `#${upload.index} ${upload.kind} ${upload.size} bytes`;
    if (outcome !== 'completed') {
      if (upload.kind === 'plain-post' && outcome.startsWith('BT_ERR_POST_TERMINATED')) {
        terminatedPosts += 1;
        // Terminated: the server may hold it (its answer was lost with the host), never twice.
        if ((plainDeliveries.get(pathOf(upload))?.processed.length ?? 0) > 1) duplicated += 1;
        continue;
      }
      if (outcome.startsWith('BT_ERR_POST_TERMINATED')) resumableTerminated += 1;
      lost += 1;
      problems.push(`${label}: ${outcome}`);
      continue;
    }
    const verdict = await verify(upload, { tus, draft, plainDeliveries });
    if (verdict === 'corrupt') corrupt += 1;
    if (verdict === 'duplicated') duplicated += 1;
    if (verdict === 'lost') lost += 1;
    if (verdict !== 'ok') problems.push(`${label}: ${verdict}`);
  }
  const fired = uploads.flatMap((upload) => upload.proxy.connections.filter((c) => c.fault !== null));
  const count = (kind: string): number => fired.filter((connection) => connection.fault === kind).length;
  const repeats = [...plainDeliveries.values()].reduce((sum, entry) => sum + entry.repeats, 0);
  const unkeyed = [...plainDeliveries.values()].reduce((sum, entry) => sum + entry.unkeyed, 0);
  const orphans = tus.requests.filter((r) => r.method === 'POST').length - countKinds(uploads, tusKinds);
  console.log(
    `chaos seed ${seed}: ${uploads.length} uploads in ${seconds.toFixed(0)} s; host SIGKILLs ${kills.total} ` +
      `(${kills.duringCreation} during a tus creation); faults fired: ${count('reset')} resets, ` +
      `${count('stall')} stalls, ${count('truncate')} truncated answers; lost ${lost}, corrupt ${corrupt}, ` +
      `duplicated ${duplicated}, resumable terminated ${resumableTerminated}; plain POSTs terminated by R12 ` +
      `${terminatedPosts}; repeats dropped by Idempotency-Key ${repeats}; extra tus creations ${orphans}; ` +
      `SIGKILL → new host ${stats(newHostMs)}`,
  );
  await Promise.all(uploads.map((upload) => upload.proxy.close()));
  assert.deepEqual(problems, [], 'every upload arrived exactly once');
  assert.deepEqual(
    { lost, corrupt, duplicated, resumableTerminated, unkeyed },
    {
      lost: 0,
      corrupt: 0,
      duplicated: 0,
      resumableTerminated: 0,
      unkeyed: 0,
    },
  );
  assert.ok(kills.total >= MIN_KILLS, `the host was SIGKILLed ${kills.total} times`);
  assert.ok(kills.duringCreation >= 1, 'a kill landed during a tus creation');
  assert.ok(count('reset') > 0 && count('truncate') > 0 && count('stall') > 0, 'every kind of fault fired');
});

// ---------------------------------------------------------------------------------------------------
// Plan and start

const tusKinds: ReadonlySet<Kind> = new Set(['tus-post', 'tus-put', 'multipart', 'stream']);

function countKinds(uploads: Upload[], kinds: ReadonlySet<Kind>): number {
  return uploads.filter((upload) => kinds.has(upload.kind)).length;
}

function pathOf(upload: Upload): string {
  return plainPath(upload.index);
}

interface PlannedUpload {
  index: number;
  kind: Kind;
  size: number;
  plans: FaultPlan[];
}

/** Everything random about the uploads, drawn up front so that CHAOS_SEED replays it whatever the timing. */
function planUploads(): PlannedUpload[] {
  const scale = UPLOADS / MIX.reduce((sum, [, weight]) => sum + weight, 0);
  const kinds = shuffle(
    random,
    MIX.flatMap(([kind, weight]) => Array<Kind>(Math.round(weight * scale)).fill(kind)),
  );
  // Large enough for a stall to be caught by the stall timer (it needs several MiB still to go).
  const bigLeft = new Set<Kind>(['tus-post', 'tus-put', 'ietf', 'plain-put']);
  return kinds.map((kind, index) => {
    const big = bigLeft.delete(kind);
    const size = big ? 12 * MiB + Math.floor(random() * 2 * MiB) : 16 * KiB + Math.floor(random() * 2 * MiB);
    return { index, kind, size, plans: planFaults(size, big) };
  });
}

/** One or two faults; the plan of every connection until it fires (a probe's connection never reaches a body offset). */
function planFaults(size: number, big: boolean): FaultPlan[] {
  const link: FaultPlan = { throttleBytesPerSecond: LINK_BYTES_PER_SECOND };
  const inBody = (bytes: number): number => 16 * KiB + Math.floor(random() * Math.max(1, bytes * 0.9 - 16 * KiB));
  const one = (): FaultPlan => {
    const pick = random();
    if (pick < 0.45) return { ...link, resetAfterUpstreamBytes: inBody(size) };
    // 1–600 bytes of the answer: cut in the head (no status: the request is retried) or in the body.
    return { ...link, truncateAfterDownstreamBytes: 1 + Math.floor(random() * 600) };
  };
  const plans = [big ? { ...link, stallAfterUpstreamBytes: inBody(2 * MiB) } : one()];
  if (random() < 0.5) plans.push(one());
  return plans;
}

async function startOne({ index, kind, size, plans }: PlannedUpload): Promise<Upload> {
  let stage = 0;
  const link: FaultPlan = { throttleBytesPerSecond: LINK_BYTES_PER_SECOND };
  const target = kind === 'ietf' ? draft.port : kind.startsWith('plain') ? plain.port : tus.port;
  const proxy: FaultProxy = await startFaultProxy(target, {
    defaultPlan: plans[0] ?? link,
    onFault: () => {
      stage += 1;
      proxy.setDefaultPlan(plans[stage] ?? link);
    },
  });
  const uploader = new BackgroundUploader();
  if (kind === 'tus-put' || kind === 'ietf' || kind === 'plain-put') uploader.method = 'PUT';
  if (kind.startsWith('plain')) uploader.resumeProtocol = 'none';
  uploader.setRequestHeader('X-Chaos-Upload', String(index));
  const uri =
    kind === 'ietf'
      ? `${proxy.url}/ietf/${index}`
      : kind.startsWith('plain')
        ? `${proxy.url}${plainPath(index)}`
        : `${proxy.url}/files/`;
  let operation: UploadOperation;
  let sha256: string;
  let text: string | undefined;
  if (kind === 'stream') {
    const content = randomBytes(size);
    sha256 = createHash('sha256').update(content).digest('hex');
    operation = await uploader.createUploadFromStreamAsync(uri, Readable.from([content]));
  } else {
    const file = await writeRandomFile(temp.path, `upload-${index}.bin`, size);
    sha256 = file.sha256;
    if (kind === 'multipart') {
      text = `upload ${index}`;
      const field = new BackgroundTransferContentPart('note');
      field.setText(text);
      const part = new BackgroundTransferContentPart('file', `upload-${index}.bin`);
      part.setFile(file.path);
      operation = await uploader.createUploadAsync(uri, [field, part]);
    } else {
      operation = uploader.createUpload(uri, file.path);
    }
  }
  if (kind.startsWith('plain')) routePlain(plainPath(index));
  const outcome = Promise.resolve(operation.startAsync()).then(
    () => 'completed',
    (error: { code?: string; message?: string }) => `${error.code}: ${error.message}`,
  );
  return { index, kind, size, sha256, proxy, plans, operation, outcome, ...(text === undefined ? {} : { text }) };
}

/** The plain server honours Idempotency-Key: a complete body with a key it has processed is a dropped repeat. */
function routePlain(path: string): void {
  const entry: PlainDelivery = { processed: [], repeats: 0, unkeyed: 0 };
  const keys = new Set<string>();
  plainDeliveries.set(path, entry);
  plain.route(path, (request) => {
    const key = request.headers.find(([name]) => name.toLowerCase() === 'idempotency-key')?.[1];
    if (key === undefined) entry.unkeyed += 1;
    if (key !== undefined && keys.has(key)) entry.repeats += 1;
    else entry.processed.push(request);
    if (key !== undefined) keys.add(key);
    return {
      status: 201,
      headers: [['Content-Type', 'application/json']],
      body: JSON.stringify({ sha256: request.sha256 }),
    };
  });
}

// ---------------------------------------------------------------------------------------------------
// The killer

/** SIGKILL → a new host answered, per kill. */
const newHostMs: number[] = [];

/**
 * Kills until MIN_KILLS kills happened and every planned upload was started (a wave after each kill);
 * stops early only if nothing is left running to kill.
 */
async function killHosts(
  uploads: Upload[],
  planned: PlannedUpload[],
  startMore: (count: number) => Promise<void>,
): Promise<{ total: number; duringCreation: number }> {
  let total = 0;
  let duringCreation = 0;
  let lastPid = 0;
  const settled = new Set<Upload>();
  const done = (): boolean => planned.length === 0 && uploads.every((upload) => settled.has(upload));
  const watch = (from: number): void => {
    for (const upload of uploads.slice(from)) void upload.outcome.then(() => settled.add(upload));
  };
  watch(0);
  while (total < MIN_KILLS || planned.length > 0) {
    if (done()) break;
    await sleep(killRandom() * 500);
    // Every fourth kill waits for a tus creation request (the next wave brings new ones) and lands while
    // the server holds it: after the request went out, before its Location could be stored.
    const seen =
      total % 4 === 3
        ? new Promise<TusRequestRecord>((resolve) => {
            holdNextCreation = resolve;
          })
        : null;
    const before = uploads.length;
    await startMore(Math.ceil(planned.length / Math.max(1, MIN_KILLS - total)));
    watch(before);
    const held = seen && (await Promise.race([seen, sleep(5_000).then(() => null)]));
    holdNextCreation = null;
    const status = await hostStatus(home).catch(() => null);
    if (status === null || status.pid === lastPid) {
      releaseCreation();
      continue;
    }
    process.kill(status.pid, 'SIGKILL');
    lastPid = status.pid;
    total += 1;
    if (held) duringCreation += 1;
    // The held creation is answered now, to a host that is gone: an empty upload stays on the server.
    releaseCreation();
    // The attached promises' watches reconnect, which starts a new host.
    const killedAt = performance.now();
    for (;;) {
      const next = await hostStatus(home).catch(() => null);
      if (next !== null && next.pid !== status.pid) {
        newHostMs.push(performance.now() - killedAt);
        break;
      }
      if (done()) break;
      assert.ok(performance.now() - killedAt < 30_000, 'a new host within 30 s of the SIGKILL');
      await sleep(20);
    }
  }
  return { total, duringCreation };
}
