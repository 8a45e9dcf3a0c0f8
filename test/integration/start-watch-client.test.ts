import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import type { OperationSnapshot, OperationSpec } from '../../src/core/snapshot.ts';
import { PROTOCOL_VERSION } from '../../src/ipc/protocol.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { type FakeHostAnswer, type FakeHostFrame, startFakeHost } from '../helpers/fake-host.ts';
import { COMPLETED_UPLOAD } from '../helpers/snapshot-fixtures.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';

/**
 * The socket client's side of a start with its watch, against a raw server that plays the host frame by
 * frame: a host that offers startWatches gets the watch id with the start and no `watch` request; an
 * older host gets the start and the watch as two requests; a start refused leaves nothing to claim.
 */
const APP = 'start-watch-client';
let temp: TempDir;
let homes = 0;

before(async () => {
  temp = await makeTempDir('bt-start-watch-client-');
});

after(async () => {
  await temp.cleanup();
});

const QUEUED: OperationSnapshot = {
  ...COMPLETED_UPLOAD,
  appId: APP,
  progress: { ...COMPLETED_UPLOAD.progress, bytesSent: 0, status: BackgroundTransferStatus.idle },
  responseVersion: 0,
  response: null,
  contentDigest: null,
};

const SPEC: OperationSpec = {
  guid: QUEUED.guid,
  appId: APP,
  method: 'PUT',
  requestedUri: QUEUED.requestedUri,
  sourcePath: QUEUED.sourcePath,
  headers: [],
  costPolicy: 0,
  priority: 0,
  group: null,
  transferGroup: null,
};

async function fakeHost(hello: Record<string, unknown>, refuseStart = false) {
  const home = join(temp.path, `home-${homes++}`);
  mkdirSync(home, { mode: 0o700 });
  const frames: FakeHostFrame[] = [];
  const host = await startFakeHost(home, (frame): FakeHostAnswer => {
    frames.push(frame);
    const ok = (result: unknown): FakeHostAnswer => ({ v: PROTOCOL_VERSION, ok: true, result });
    switch (frame.method) {
      case 'hello':
        return ok({ protocolVersion: PROTOCOL_VERSION, pid: process.pid, home, ...hello });
      case 'start':
        if (refuseStart) {
          return { v: PROTOCOL_VERSION, ok: false, error: { code: 'BT_ERR_INVALID_ARGUMENT', message: 'no' } };
        }
        return ok(QUEUED);
      case 'watch':
        return ok({ watchId: (frame.params as { watchId: number }).watchId });
      default:
        return ok({});
    }
  });
  return { home, frames, close: () => host.close() };
}

/** Starts SPEC, then watches it; resolves with the listener's first snapshot (or the refusal). */
async function startThenWatch(port: SocketPort): Promise<OperationSnapshot> {
  await port.call('start', APP, { spec: SPEC });
  return new Promise<OperationSnapshot>((resolve) => {
    const stop = port.watch(APP, SPEC.guid, (snapshot) => {
      stop();
      resolve(snapshot);
    });
  });
}

test('a host offering startWatches (with finalEndsWatch) gets the watch id with the start and no watch request', async () => {
  const host = await fakeHost({ finalEndsWatch: true, startWatches: true });
  const port = new SocketPort(host.home, { autoStart: false });
  try {
    const first = await startThenWatch(port);
    // The start's reply is the watch's current snapshot.
    assert.deepEqual(first, QUEUED);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const sent = host.frames.map((frame) => frame.method);
    assert.deepEqual(sent.slice(0, 2), ['hello', 'start']);
    assert.equal((host.frames[1]?.params as { watchId?: number } | undefined)?.watchId, 1);
    // The listener's stop() unwatches (the fake host never pushes a final snapshot), but nothing was watched by request.
    assert.ok(!sent.includes('watch'), JSON.stringify(sent));
  } finally {
    await port.close();
    await host.close();
  }
});

test('a host without startWatches gets a plain start, then a watch request', async () => {
  for (const hello of [{ finalEndsWatch: true }, { startWatches: true }]) {
    const host = await fakeHost(hello);
    const port = new SocketPort(host.home, { autoStart: false });
    try {
      // This fake host pushes nothing: the watch is seen by its request, not by a snapshot.
      await port.call('start', APP, { spec: SPEC });
      const stop = port.watch(APP, SPEC.guid, () => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
      stop();
      const start = host.frames.find((frame) => frame.method === 'start');
      assert.ok(start, 'no start sent');
      assert.equal((start.params as { watchId?: number }).watchId, undefined, JSON.stringify(hello));
      assert.ok(
        host.frames.some((frame) => frame.method === 'watch'),
        JSON.stringify(hello),
      );
    } finally {
      await port.close();
      await host.close();
    }
  }
});

test('a refused start leaves no watch to claim: the watch that follows is a request', async () => {
  const host = await fakeHost({ finalEndsWatch: true, startWatches: true }, true);
  const port = new SocketPort(host.home, { autoStart: false });
  try {
    await assert.rejects(port.call('start', APP, { spec: SPEC }), { code: 'BT_ERR_INVALID_ARGUMENT' });
    const stop = port.watch(APP, SPEC.guid, () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop();
    const watch = host.frames.find((frame) => frame.method === 'watch');
    assert.ok(watch, JSON.stringify(host.frames.map((frame) => frame.method)));
    // A fresh id: the refused start's id is not reused for another watch.
    assert.equal((watch.params as { watchId: number }).watchId, 2);
  } finally {
    await port.close();
    await host.close();
  }
});
