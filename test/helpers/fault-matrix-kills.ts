import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackgroundTransferStatus, BackgroundUploader } from '../../src/index.ts';
import { hostStatus } from '../../src/ipc/host-control.ts';
import { hostLogPath } from '../../src/ipc/protocol.ts';
import { KiB, type Kill, MiB, UPLOADS, type Upload } from './fault-matrix-plan.ts';
import { stalledAt } from './fault-matrix-watch.ts';
import { startFaultProxy } from './fault-proxy.ts';
import { listenOnLoopback } from './loopback.ts';

/**
 * The fault matrix's host kills and the timings measured around them and around stalls, plus the
 * calibration of the bytes that can be in flight past the link.
 */

/** SIGKILLs the host whenever the bytes sent overall pass the next fraction of the total. */
export async function killHosts(
  home: string,
  uploads: Upload[],
  fractions: number[],
  kills: Kill[],
  done: () => boolean,
): Promise<void> {
  const total = uploads.reduce((sum, upload) => sum + upload.size, 0);
  const sent = (): number =>
    uploads.reduce((sum, upload) => {
      const { status, bytesSent } = upload.operation.progress;
      return sum + (status === BackgroundTransferStatus.completed ? upload.size : bytesSent);
    }, 0);
  for (const fraction of fractions) {
    while (!done() && sent() < fraction * total) await sleep(20);
    // Not into a stall the stall timer has yet to catch: its detection time is measured.
    const waitedFrom = performance.now();
    while (!done() && uploads.some(stallPending) && performance.now() - waitedFrom < 5_000) await sleep(20);
    if (done()) return;
    const status = await hostStatus(home);
    if (status === null) continue;
    const inFlight = uploads.filter((upload) => upload.proxy.connections.some((connection) => !connection.closed));
    const kill: Kill = {
      pid: status.pid,
      atMs: performance.now(),
      newHostAtMs: 0,
      newPid: 0,
      inFlight: inFlight.map((upload) => upload.index),
    };
    process.kill(status.pid, 'SIGKILL');
    kills.push(kill);
    // Nobody is asked to: the attached promises' watches reconnect, and that starts a new host.
    for (;;) {
      const next = await hostStatus(home).catch(() => null);
      if (next !== null && next.pid !== status.pid) {
        kill.newHostAtMs = performance.now();
        kill.newPid = next.pid;
        break;
      }
      if (performance.now() - kill.atMs > 30_000) throw new Error('no new host within 30 s of the SIGKILL');
      await sleep(20);
    }
    if (kills.length === 1) await enumerateAndAttach(uploads);
    // Let the new host get going before the next kill.
    await sleep(500);
  }
}

/**
 * A stall happened and the client has not abandoned that connection yet (its stall timer has yet to
 * fire). Watched on the connection itself, which the client closes when the timer fires. The app's
 * progress is no such signal: it shows the upload leave `running` only when a snapshot is pushed
 * within the retry's 50 ms back-off, else not until much later, and each such wait held a kill back
 * for its full 5 s; late in a run, every upload can complete meanwhile and a planned kill is lost.
 */
function stallPending(upload: Upload): boolean {
  return upload.proxy.connections.some(
    (connection) => connection.fault === 'stall' && stalledAt.has(connection) && !connection.closed,
  );
}

/** After the first kill a second observer enumerates the app's uploads (same guids, R10) and attaches. */
async function enumerateAndAttach(uploads: Upload[]): Promise<void> {
  const current = await BackgroundUploader.getCurrentUploadsAsync();
  const byGuid = new Map([...current].map((operation) => [operation.guid, operation]));
  assert.equal(byGuid.size, UPLOADS, 'every upload is enumerated after the host was killed');
  for (const upload of uploads) {
    const enumerated = byGuid.get(upload.operation.guid);
    assert.ok(enumerated, `#${upload.index} is enumerated under its guid`);
    upload.attached = Promise.resolve(enumerated.attachAsync());
  }
}

/**
 * Stall → the host gives up on the request: the proxy's fault time to the host's "retrying upload"
 * log line with BT_ERR_STALLED for that upload. Stalls ended by a host kill instead are left out.
 */
export async function stallDetectionTimes(home: string, uploads: Upload[], kills: Kill[]): Promise<number[]> {
  const retries = (await readFile(hostLogPath(home), 'utf8'))
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { msg?: string; guid?: string; code?: string; time?: number }];
      } catch {
        return [];
      }
    })
    .filter((entry) => entry.msg === 'retrying upload' && entry.code === 'BT_ERR_STALLED');
  // The host's log times are Date.now(); the proxy's are performance.now() in this process.
  const epochOffsetMs = Date.now() - performance.now();
  const times: number[] = [];
  for (const upload of uploads) {
    for (const connection of upload.proxy.connections) {
      const faultAtMs = stalledAt.get(connection);
      if (connection.fault !== 'stall' || faultAtMs === undefined) continue;
      const faultEpochMs = epochOffsetMs + faultAtMs;
      const detected = retries.find(
        (entry) => entry.guid === upload.operation.guid && (entry.time ?? 0) >= faultEpochMs,
      );
      if (detected?.time === undefined) continue;
      const detectedAtMs = detected.time - epochOffsetMs;
      if (kills.some((kill) => kill.atMs >= faultAtMs && kill.atMs <= detectedAtMs)) continue;
      times.push(detected.time - faultEpochMs);
    }
  }
  return times;
}

/**
 * For the resumable uploads on the wire at a kill: SIGKILL → the first progress report (from the new
 * host, through the reconnected watch) in which the bytes sent went beyond where it resumed.
 */
export function resumeTimes(kill: Kill, uploads: Upload[]): number[] {
  const times: number[] = [];
  for (const index of kill.inFlight) {
    const upload = uploads[index]!;
    if (upload.kind === 'plain') continue;
    const afterKill = upload.progress.filter((entry) => entry.atMs > kill.newHostAtMs);
    const resumedAt = afterKill.find((entry) => entry.status === BackgroundTransferStatus.running);
    // Resuming with a session reports the server's offset (> 0) from the first report on.
    if (resumedAt === undefined || resumedAt.bytesSent === 0) continue;
    const moving = afterKill.find(
      (entry) => entry.status === BackgroundTransferStatus.running && entry.bytesSent > resumedAt.bytesSent,
    );
    if (moving) times.push(moving.atMs - kill.atMs);
  }
  return times;
}

/**
 * How many bytes can be past the link and not yet read by the server on this machine: a server that
 * reads nothing behind a fault proxy, a client that writes 32 MiB; what the proxy manages to forward
 * (proxy send buffer + server receive buffer, both autotuned by the kernel) is lost when a RST cuts
 * the connection, and re-sent.
 */
export async function calibrateInFlight(): Promise<number> {
  const accepted: Socket[] = [];
  const server: Server = createServer((socket) => {
    socket.pause();
    socket.on('error', () => {});
    accepted.push(socket);
  });
  const { port } = await listenOnLoopback(server);
  const proxy = await startFaultProxy(port);
  const client = connect(proxy.port, '127.0.0.1');
  client.on('error', () => {});
  const chunk = Buffer.alloc(64 * KiB);
  let written = 0;
  const pump = (): void => {
    while (written < 32 * MiB) {
      written += chunk.length;
      if (!client.write(chunk)) {
        client.once('drain', pump);
        return;
      }
    }
  };
  client.once('connect', pump);
  let last = -1;
  for (;;) {
    await sleep(200);
    const forwarded = proxy.connections[0]?.upstreamBytes ?? 0;
    if (forwarded === last && forwarded > 0) break;
    last = forwarded;
  }
  client.destroy();
  await proxy.close();
  // A paused socket never reads the FIN: it is destroyed, or server.close() would wait for it forever.
  for (const socket of accepted) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return last;
}
