import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import { hostStatus } from '../../src/ipc/host-control.ts';
import { hostLogPath, hostSocketPath, PROTOCOL_VERSION } from '../../src/ipc/protocol.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { startFakeHost } from '../helpers/fake-host.ts';
import { newHome, server, specFor, temp, useHostBed } from '../helpers/host-bed.ts';
import { rawSession, request } from '../helpers/raw-socket.ts';
import { writeRandomFile } from '../helpers/temp-dir.ts';

/**
 * The transfer host's socket, end to end (docs/architecture.md): garbage gets an error reply or a
 * close, a client that stops reading stalls nobody, a call in flight when the connection drops is
 * resent unless unsafe, and another OS user cannot connect.
 */

useHostBed();

test('garbage on the socket gets an error reply or a close, and the host keeps serving', async () => {
  const home = newHome('garbage');
  const port = new SocketPort(home);
  try {
    const { pid } = await port.status('app-a');
    const socketPath = hostSocketPath(home);

    const notJson = await rawSession(socketPath, ['not json']);
    assert.equal(notJson.replies[0]?.error?.code, 'BT_ERR_IPC_PROTOCOL');
    assert.equal(notJson.closed, true, 'nothing is trusted before hello');

    const noHello = await rawSession(socketPath, [request(7, 'list', { filter: { kind: 'all' } })]);
    assert.deepEqual([noHello.replies[0]?.id, noHello.replies[0]?.error?.code], [7, 'BT_ERR_IPC_PROTOCOL']);
    assert.equal(noHello.closed, true);

    const wrongVersion = await rawSession(socketPath, [request(1, 'hello', { protocolVersion: 99, appId: 'x' })]);
    assert.match(wrongVersion.replies[0]?.error?.message ?? '', new RegExp(`protocol ${PROTOCOL_VERSION}\\b`));
    assert.equal(wrongVersion.closed, true);

    const afterHello = await rawSession(socketPath, [
      request(1, 'hello', { protocolVersion: PROTOCOL_VERSION, appId: 'app-a' }),
      `{"v":${PROTOCOL_VERSION},"id":2,`,
      request(3, 'explode', {}),
      request(4, 'get', { guid: 42 }),
      request(5, 'list', { filter: { kind: 'all' } }),
    ]);
    assert.deepEqual(
      afterHello.replies.map((reply) => [reply.id, reply.ok, reply.error?.code]),
      [
        [1, true, undefined],
        [null, false, 'BT_ERR_IPC_PROTOCOL'],
        [3, false, 'BT_ERR_IPC_PROTOCOL'],
        [4, false, 'BT_ERR_INVALID_ARGUMENT'],
        [5, true, undefined],
      ],
    );
    assert.equal(afterHello.closed, false, 'a bad request after hello does not cost the connection');

    const huge = await rawSession(socketPath, [
      request(1, 'hello', { protocolVersion: PROTOCOL_VERSION, appId: 'a' }),
      'x'.repeat(2 * 1024 * 1024),
    ]);
    assert.equal(huge.closed, true);
    assert.ok(huge.replies.length === 1 || huge.replies[1]?.error?.code === 'BT_ERR_IPC_PROTOCOL');

    assert.deepEqual(await port.call('list', 'app-a', { filter: { kind: 'all' } }), []);
    assert.equal((await hostStatus(home))?.pid, pid);
    assert.match(readFileSync(hostLogPath(home), 'utf8'), /"msg":"bad request"/);
  } finally {
    await port.close();
  }
});

test('a client that stops reading stalls neither the host nor other clients; it still gets every terminal snapshot', async () => {
  const home = newHome('slow-reader');
  const file = await writeRandomFile(temp.path, 'slow-reader.bin', 1024 * 1024);
  const port = new SocketPort(home);
  const watches = 2_000;
  try {
    const spec = specFor('app-a', file, `${server.url}/slow-reader`);
    await port.call('start', spec.appId, { spec });
    // Thousands of watches on one upload: every progress tick is ~1.5 MB for this connection, and it
    // reads nothing (no 'data' listener), so the host's buffer for it passes the coalescing bound.
    const reader = connect(hostSocketPath(home));
    reader.on('error', () => undefined);
    const frames = [request(1, 'hello', { protocolVersion: PROTOCOL_VERSION, appId: 'app-a' })];
    for (let watchId = 1; watchId <= watches; watchId += 1) {
      frames.push(request(watchId + 1, 'watch', { guid: spec.guid, watchId }));
    }
    reader.write(`${frames.join('\n')}\n`);

    const latenciesMs: number[] = [];
    const ended = new Promise<void>((resolve) => {
      const stop = port.watch('app-a', spec.guid, (snapshot) => {
        if (snapshot.progress.status !== BackgroundTransferStatus.completed) return;
        stop();
        resolve();
      });
    });
    while (latenciesMs.length < 5) {
      const startedMs = performance.now();
      await port.status('app-a');
      latenciesMs.push(performance.now() - startedMs);
      await sleep(100);
    }
    await ended;
    // A stalled host would answer every status late. One answer may come late while the host takes in
    // the 2,000 watch frames (0.57–0.71 s in 4 of 5 runs on a 2-core machine at load average ~20):
    // the median is held to 500 ms, the slowest to 5 s.
    const sorted = [...latenciesMs].sort((a, b) => a - b);
    const took = `status took ${latenciesMs.map(Math.round).join(', ')} ms`;
    assert.ok((sorted[Math.floor(sorted.length / 2)] ?? 0) < 500, took);
    assert.ok((sorted.at(-1) ?? 0) < 5_000, took);

    const lastByWatch = new Map<number, number>();
    let pushes = 0;
    await new Promise<void>((resolve) => {
      let buffered = '';
      let quiet = setTimeout(resolve, 2_000);
      reader.on('data', (chunk) => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const frame = JSON.parse(line) as {
            push?: string;
            watchId: number;
            snapshot: { progress: { status: number } };
          };
          if (frame.push === undefined) continue;
          pushes += 1;
          lastByWatch.set(frame.watchId, frame.snapshot.progress.status);
        }
        clearTimeout(quiet);
        quiet = setTimeout(resolve, 500);
      });
    });
    reader.destroy();
    assert.equal(lastByWatch.size, watches);
    assert.deepEqual(new Set(lastByWatch.values()), new Set([BackgroundTransferStatus.completed]));
    console.log(
      `slow reader: ${pushes} pushes for ${watches} watches; status latency max ${Math.round(Math.max(...latenciesMs))} ms`,
    );
  } finally {
    await port.close();
  }
});

test('a call in flight when the connection drops is sent once more on a new connection, unless unsafe', async () => {
  // A scripted host: it answers hello, and drops the connection the first time it sees each listed method.
  const home = join(temp.path, 'scripted');
  mkdirSync(home, { mode: 0o700 });
  const dropOnce = new Set(['listPage', 'update']);
  const seen: string[] = [];
  const scripted = await startFakeHost(home, ({ connection, method }) => {
    seen.push(`${connection}:${method}`);
    if (dropOnce.delete(method)) return 'drop';
    const result =
      method === 'hello'
        ? { protocolVersion: PROTOCOL_VERSION, pid: process.pid, home }
        : method === 'listPage'
          ? { operations: [], next: null }
          : [];
    return { v: PROTOCOL_VERSION, ok: true, result };
  });
  const port = new SocketPort(home);
  try {
    assert.deepEqual(await port.call('list', 'app-a', { filter: { kind: 'all' } }), []);
    assert.deepEqual(seen, ['1:hello', '1:listPage', '2:hello', '2:listPage']);
    // R63: a repeated setHeader joins the value twice, so it is not re-sent.
    await assert.rejects(port.call('update', 'app-a', { guid: randomUUID(), change: { setHeader: ['X-Tag', 'a'] } }), {
      code: 'BT_ERR_HOST_UNREACHABLE',
    });
    assert.deepEqual(seen.slice(4), ['2:update']);
  } finally {
    await port.close();
    await scripted.close();
  }
});

test('another OS user cannot connect to the host socket (EACCES)', async () => {
  const home = newHome('other-user');
  const port = new SocketPort(home);
  try {
    await port.status('app-a');
    const socketPath = hostSocketPath(home);
    assert.equal(statSync(home).mode & 0o777, 0o700);
    assert.equal(statSync(socketPath).mode & 0o777, 0o600);
    chmodSync(temp.path, 0o711); // let `nobody` reach the home itself, so the home's mode is what stops it
    try {
      assert.equal(await connectAsNobody(socketPath), 'EACCES');
      chmodSync(home, 0o711); // and with the home open too, the socket's own 0600 still refuses
      assert.equal(await connectAsNobody(socketPath), 'EACCES');
    } finally {
      chmodSync(home, 0o700);
      chmodSync(temp.path, 0o700);
    }
  } finally {
    await port.close();
  }
});

// ---- helpers

/** Runs a one-line connect as the unprivileged user `nobody`; resolves with the error code it got. */
async function connectAsNobody(path: string): Promise<string> {
  const script = `require('net').connect(${JSON.stringify(path)}).on('connect', () => { console.log('CONNECTED'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`;
  const child = spawn('runuser', ['-u', 'nobody', '--', process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk) => {
    out += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 0, `runuser failed: ${out}`);
  return out.trim();
}
