import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BackgroundTransferStatus, BackgroundUploader, closeAsync } from '../../src/index.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { calibrateInFlight, killHosts, resumeTimes, stallDetectionTimes } from '../helpers/fault-matrix-kills.ts';
import {
  CONFIG,
  IN_FLIGHT_SLACK_BYTES,
  KINDS,
  KiB,
  type Kill,
  LINK_BYTES_PER_SECOND,
  type MatrixServers,
  MiB,
  openLinks,
  RESPONSE_TIMEOUT_MS,
  STALL_TIMEOUT_MS,
  startUploads,
  TEST_TIMEOUT_MS,
  UPLOADS,
} from '../helpers/fault-matrix-plan.ts';
import { describe, printDetails, printSummary, within } from '../helpers/fault-matrix-report.ts';
import { account, header, summarize, verifyOnServer } from '../helpers/fault-matrix-verify.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { type IetfTestServer, startIetfServer } from '../helpers/ietf-server.ts';
import { spawnNode } from '../helpers/process-tools.ts';
import { mulberry32 } from '../helpers/seeded-random.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startTusServer, type TusTestServer } from '../helpers/tus-server.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * The fault matrix. 50 uploads of random sizes go through the public API
 * (BGTRANSFER_HOST=auto: this test process is the app, the transfer host a real detached process) to
 * three servers — tus 1.0 (@tus/server), the IETF resumable-upload draft and a plain PUT server — with
 * `resumeProtocol` left at "auto", so the host has to find out which is which (tus: OPTIONS; draft: the
 * 104; plain: neither, a PUT restarts from 0, R38).
 *
 * Every upload goes through its own fault proxy: its own origin, hence its own connections, so a fault
 * meant for it hits it and nothing else. The proxy is the "link" (throttled to LINK_BYTES_PER_SECOND
 * per connection: a link slower than the server, as on a real network) and resets or stalls the upload
 * once or twice at random body offsets. Meanwhile the host is SIGKILLed two or three times (every
 * planned kill is asserted); the attached promises' watches reconnect, which starts a new host that
 * recovers everything.
 *
 * Asserted: every upload completes (status 5) with the file's sha256 on its server; a resumable upload
 * resumes at the server's offset (its PATCH offsets never go back; the server never reads a byte of the
 * completed resource twice); and the bytes re-sent over the link per interruption stay within what can
 * be in flight past the link (calibrated below). Printed: a table per server, re-sent bytes, the stall
 * detection time and the resume time after SIGKILL.
 *
 * Sizes, protocols, fault offsets and kill moments come from a seeded PRNG: the seed is printed and
 * FAULT_MATRIX_SEED=<seed> replays the plan (file contents and timing still vary); FAULT_MATRIX_VERBOSE=1
 * also prints every upload's connections and requests and keeps the home (host.log). The matrix took
 * 32–53 s on a 2-core machine at load average 18–30 (uploads without a stall crawl at 1 MiB/s until the
 * last planned kill, so that every planned kill happens). Numbers: docs/resilience.md.
 *
 * Three focused tests follow, each of a bug found in src/ by this matrix (they fail until it is fixed):
 * a network error during the tus probe, a stall in the tail of a body, and an in-process app that
 * exits during a retry back-off.
 */

// The plan and its limits: test/helpers/fault-matrix-plan.ts; the kills and timings: fault-matrix-kills.ts;
// the checks on the servers: fault-matrix-verify.ts; the printed report: fault-matrix-report.ts.

const API_URL = pathToFileURL(fileURLToPath(new URL('../../src/index.ts', import.meta.url))).href;
const seed = Number(process.env.FAULT_MATRIX_SEED ?? randomInt(2 ** 31));
const random = mulberry32(seed);

let temp: TempDir;
let home: string;
let tus: TusTestServer;
let draft: IetfTestServer;
let plain: UploadServer;
let servers: MatrixServers;
let inFlightBound = 0;
let kernelInFlight = 0;
const proxies: FaultProxy[] = [];

before(async () => {
  console.log(`fault matrix seed ${seed} (replay: FAULT_MATRIX_SEED=${seed})`);
  temp = await makeTempDir('bt-fault-matrix-');
  home = join(temp.path, 'home');
  await mkdir(home, { recursive: true, mode: 0o700 });
  await writeFile(join(home, 'config.json'), JSON.stringify(CONFIG));
  // The API reads these on its first call: this process is the app; the host is started on demand.
  // Info level: the host logs each retry with its error code (the stall detection times come from there).
  process.env.BGTRANSFER_HOME = home;
  process.env.BGTRANSFER_HOST = 'auto';
  process.env.BGTRANSFER_APP_ID = 'fault-matrix';
  process.env.BGTRANSFER_LOG_LEVEL = 'info';
  [tus, draft, plain] = await Promise.all([startTusServer(), startIetfServer(), startUploadServer()]);
  servers = { tus, draft, plain };
  kernelInFlight = await calibrateInFlight();
  inFlightBound = kernelInFlight + IN_FLIGHT_SLACK_BYTES;
});

after(async () => {
  await stopHost(home).catch(() => false);
  await closeAsync();
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await Promise.all([tus?.close(), draft?.close(), plain?.close()]);
  // FAULT_MATRIX_VERBOSE=1 prints every upload's connections and requests and keeps the home (host.log).
  if (process.env.FAULT_MATRIX_VERBOSE) console.log(`kept ${temp?.path}`);
  else await temp?.cleanup();
});

test('fault matrix: 50 uploads (tus, IETF draft, plain PUT) through resets, stalls and host SIGKILLs complete sha256-exact', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const runStartedMs = performance.now();
  const uploads = await startUploads({ random, dir: temp.path, servers, proxies });
  const killCount = 2 + Math.floor(random() * 2);
  // Each kill in its own band of the first half of the bytes, so they neither bunch up nor fall after
  // the last upload: after a kill the new host starts, the app re-attaches and stalls are let run out,
  // and on a fast machine the rest of the run can finish meanwhile (bands up to 70% lost kills).
  const band = 0.4 / killCount;
  const killFractions = Array.from({ length: killCount }, (_, index) => 0.05 + band * index + random() * band * 0.8);

  let settled = false;
  const all = Promise.allSettled(uploads.map((upload) => upload.started));
  void all.then(() => {
    settled = true;
  });
  const kills: Kill[] = [];
  // The links of uploads without a stall stay slow until the last planned kill (see
  // KILL_PHASE_LINK_BYTES_PER_SECOND), so the run cannot end before it.
  const killing = killHosts(home, uploads, killFractions, kills, () => settled).then(() => openLinks(uploads));
  const results = await all;
  await killing;
  const attached = await Promise.allSettled(uploads.flatMap((upload) => (upload.attached ? [upload.attached] : [])));
  const runMs = performance.now() - runStartedMs;
  if (process.env.FAULT_MATRIX_VERBOSE) printDetails(servers, uploads, kills);

  // ---- every upload completed, byte-exact on its server ----
  const failures = results.flatMap((result, index) =>
    result.status === 'rejected' ? [`#${index} (${uploads[index]?.kind}) ${describe(result.reason)}`] : [],
  );
  assert.deepEqual(failures, [], 'every upload completes');
  assert.ok(attached.length === UPLOADS, 'every upload was attached to again after the first kill');
  assert.deepEqual(
    attached.flatMap((result) => (result.status === 'rejected' ? [describe(result.reason)] : [])),
    [],
    'every attachAsync() of an enumerated operation settles with completion too',
  );
  for (const upload of uploads) {
    assert.equal(upload.operation.progress.status, BackgroundTransferStatus.completed, `#${upload.index} status`);
    await verifyOnServer(servers, upload);
  }

  // ---- the faults happened ----
  const fired = uploads.flatMap((upload) => upload.proxy.connections.filter((c) => c.fault !== null));
  const resets = fired.filter((connection) => connection.fault === 'reset').length;
  const stalls = fired.filter((connection) => connection.fault === 'stall').length;
  const planned = uploads.reduce((sum, upload) => sum + upload.plans.length, 0);
  assert.equal(kills.length, killCount, `the host was killed ${kills.length} times (${killCount} planned)`);
  for (const kill of kills) assert.notEqual(kill.newPid, kill.pid, 'a new host took over');
  // Every upload's first fault is planned inside its body, so it fires unless a kill got there first.
  assert.ok(fired.length >= UPLOADS * 0.9, `only ${fired.length} of ${planned} planned faults fired`);
  assert.ok(stalls >= 3, `only ${stalls} stalls fired`);

  // ---- resumable uploads continue from the server's offset; re-sent bytes are bounded ----
  const accounts = uploads.map((upload) => account(servers, upload));
  for (const entry of accounts) {
    if (entry.kind === 'plain') continue;
    assert.ok(
      entry.reSent <= Math.max(1, entry.interruptions) * inFlightBound,
      `#${entry.index} (${entry.kind}, ${entry.size} bytes) re-sent ${entry.reSent} bytes over ` +
        `${entry.interruptions} interruption(s): more than ${inFlightBound} per interruption`,
    );
  }
  const tusIds = (await readdir(tus.directory)).filter((name) => !name.endsWith('.json'));
  const summary = KINDS.map((kind) => summarize(servers, kind, accounts, tusIds));
  for (const row of summary) {
    assert.ok(row.interruptions > 0, `${row.kind}: no request was interrupted`);
    if (row.kind === 'plain') continue;
    // What the server received beyond the files: bytes sent to a draft upload whose 104 (Location)
    // had not reached the client when the request was cut; such a request starts over.
    assert.ok(
      row.serverExtra <= row.interruptions * inFlightBound,
      `${row.kind}: the server received ${row.serverExtra} bytes beyond the files`,
    );
  }

  // ---- timings ----
  const stallDetections = await stallDetectionTimes(home, uploads, kills);
  const resumeMs = kills.flatMap((kill) => resumeTimes(kill, uploads));
  printSummary({
    uploads,
    summary,
    kills,
    resets,
    stalls,
    planned,
    stallDetections,
    resumeMs,
    runMs,
    runStartedMs,
    seed,
    inFlightBound,
    kernelInFlight,
  });
  assert.ok(resumeMs.length > 0, 'an upload with a session was on the wire at a kill and moved on afterwards');
  assert.ok(stallDetections.length > 0, 'a stall was detected by the stall timer (not ended by a kill)');
  // From the moment the link stopped. The stall timer runs from the client's last accepted byte, and
  // the link drains what was queued ahead of it (up to the calibrated in-flight bytes, at the link's
  // rate) after that: normally ~0.1 s, but when the host is starved of CPU (a loaded 2-core machine)
  // it hands nothing over while the link still drains its queue, e.g. 570 ms before a detection 381 ms
  // after the stop. So a detection may come that much under stallTimeoutMs, never more.
  const drainMs = (kernelInFlight / LINK_BYTES_PER_SECOND) * 1000;
  for (const detected of stallDetections) {
    assert.ok(
      detected >= STALL_TIMEOUT_MS - drainMs && detected < STALL_TIMEOUT_MS + 5_000,
      `a stall was detected after ${detected.toFixed(0)} ms (stallTimeoutMs ${STALL_TIMEOUT_MS}, ` +
        `the link drains its queue in ${drainMs.toFixed(0)} ms)`,
    );
  }
});

/**
 * src/engine/run-attempt.ts chooseProtocol(): a failed OPTIONS probe (`probeTus(...).catch(() => false)`)
 * is taken for "not tus" and stored as `probedPlain` for good. One connection reset during the probe,
 * and every later attempt sends the app's request, with the draft's headers, to the tus *creation
 * endpoint*: @tus/server answers 412 (no Tus-Resumable), which is not retried, and the upload fails.
 * Expected: a network error during the probe is a failed attempt (retried; the next attempt probes
 * again), not a verdict on the endpoint.
 */
test('a connection reset during the tus OPTIONS probe does not make "auto" treat the tus server as plain', async () => {
  const file = await writeRandomFile(temp.path, 'probe-reset.bin', 256 * KiB);
  const proxy = await startFaultProxy(tus.port);
  proxies.push(proxy);
  // The OPTIONS request head is ~100 bytes: cut it after 20.
  proxy.nextConnection({ resetAfterUpstreamBytes: 20 });
  const uploader = new BackgroundUploader();
  uploader.method = 'PUT';
  uploader.setRequestHeader('X-Fault-Upload', 'probe-reset');
  const operation = uploader.createUpload(`${proxy.url}/files/`, file.path);
  const outcome = await Promise.resolve(operation.startAsync()).then(
    () => 'completed',
    (error: unknown) => describe(error),
  );
  const methods = tus.requests
    .filter((request) => header(request.headers, 'x-fault-upload') === 'probe-reset')
    .map((request) => request.method);
  assert.equal(proxy.connections[0]?.fault, 'reset', 'the probe connection was cut');
  assert.equal(outcome, 'completed', `the upload ended with ${outcome}; requests that reached the server: ${methods}`);
  const info = operation.getResponseInformation();
  assert.ok(info);
  assert.equal(await tus.sha256(tus.uploadIdOfResponse(info)), file.sha256);
});

/**
 * The stall timer watches the body while the connection takes it; once the last chunk is in the kernel's
 * send buffer (here up to ~5–6.5 MiB), Node cannot see whether the peer acknowledges it, so a stall in
 * that tail is indistinguishable from a server that takes its time to answer. That tail is covered by
 * R48's response timer (responseTimeoutMs) instead: no upload waits forever, and a resumable one
 * continues from the server's offset. Known limit, documented in docs/resilience.md.
 */
test('a stall in the tail of a body is caught by the response timeout (R48) and the tus upload resumes', async () => {
  const file = await writeRandomFile(temp.path, 'stall-tail.bin', 2 * MiB);
  const proxy = await startFaultProxy(tus.port);
  proxies.push(proxy);
  proxy.nextConnection({ stallAfterUpstreamBytes: MiB });
  const uploader = new BackgroundUploader();
  const operation = uploader.createUpload(`${proxy.url}/files/`, file.path);
  const startedMs = performance.now();
  const outcome = await within(
    Promise.resolve(operation.startAsync()).then(
      () => 'completed',
      (error: unknown) => describe(error),
    ),
    RESPONSE_TIMEOUT_MS + 20_000,
    'still waiting',
  );
  const elapsedMs = performance.now() - startedMs;
  assert.equal(proxy.connections[0]?.fault, 'stall');
  assert.equal(outcome, 'completed', `after ${elapsedMs.toFixed(0)} ms`);
  assert.ok(elapsedMs >= RESPONSE_TIMEOUT_MS, `resumed only after the response timeout (${elapsedMs.toFixed(0)} ms)`);
  const info = operation.getResponseInformation();
  assert.ok(info);
  assert.equal(await tus.sha256(tus.uploadIdOfResponse(info)), file.sha256);
});

/**
 * BGTRANSFER_HOST=inproc: while an upload waits out a retry back-off, nothing holds the event loop —
 * src/engine/scheduler.ts `schedule()` unrefs its wake timer (`this.#wakeTimer.unref()`, also the progress
 * ticker in `#ensureTicker()`), and src/ipc/inproc-port.ts `watch()` holds no handle (SocketPort, by
 * contrast, keeps its socket ref'd while a watch is active: `Connection.holdOpen`). An app whose only
 * work is `await operation.startAsync()` therefore exits in the middle of the back-off — code 13
 * ("unsettled top-level await"), or 0 without top-level await — its transfer promise never settles and
 * the upload is left queued until some later process opens the home. Expected: an attached transfer
 * promise keeps the process alive until it settles, as it does with the host.
 */
test('BGTRANSFER_HOST=inproc: an app awaiting startAsync() stays alive through a retry back-off', async () => {
  const file = await writeRandomFile(temp.path, 'inproc-retry.bin', 2 * MiB);
  const proxy = await startFaultProxy(plain.port);
  proxies.push(proxy);
  proxy.nextConnection({ resetAfterUpstreamBytes: 512 * KiB });
  const appHome = join(temp.path, 'inproc-home');
  await mkdir(appHome, { recursive: true, mode: 0o700 });
  await writeFile(join(appHome, 'config.json'), JSON.stringify({ retryBaseDelayMs: 500 }));
  const script = join(temp.path, 'inproc-app.mts');
  await writeFile(
    script,
    `import { BackgroundUploader } from ${JSON.stringify(API_URL)};
const uploader = new BackgroundUploader();
uploader.method = 'PUT';
uploader.resumeProtocol = 'none';
const operation = uploader.createUpload(process.argv[2], process.argv[3]);
await operation.startAsync();
console.log('completed', operation.progress.status);
`,
  );
  const app = spawnNode([script, `${proxy.url}/inproc-retry`, file.path], {
    env: {
      BGTRANSFER_HOST: 'inproc',
      BGTRANSFER_HOME: appHome,
      BGTRANSFER_APP_ID: 'inproc-app',
      BGTRANSFER_LOG_LEVEL: 'error',
    },
  });
  const exit = await within(app.exited, 30_000, null);
  if (exit === null) {
    app.kill('SIGKILL');
    await app.exited;
  }
  assert.equal(proxy.connections[0]?.fault, 'reset', 'the first PUT was cut');
  const puts = plain.requests.filter((request) => request.url === '/inproc-retry');
  assert.deepEqual(
    { code: exit?.code, stdout: app.stdoutLines, putsThatReachedTheServer: puts.length },
    { code: 0, stdout: ['completed 5'], putsThatReachedTheServer: 2 },
  );
  assert.equal(puts[1]?.sha256, file.sha256);
});
