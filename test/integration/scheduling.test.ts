import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BackgroundTransferBehavior,
  BackgroundTransferGroup,
  BackgroundTransferPriority,
  BackgroundTransferStatus,
  BackgroundUploader,
  type UploadOperation,
} from '../../src/index.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { type SlowServer, startSlowServer } from '../helpers/slow-server.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/**
 * Scheduling as a server sees it (in-process engine). A slow loopback server records the
 * order in which upload requests arrive and how many are in flight (arrived, not yet answered); the
 * engine's concurrency cap (config maxConcurrentTransfers), priorities (R31), Serialized/Parallel
 * transfer groups (R30), makeCurrentInTransferGroup (R32) and the per-app limits (R28, R29) are judged
 * from that record only.
 */

let files: TempDir;
let source: RandomFile;
let server: SlowServer;
let home: ApiHome | undefined;
let groupSerial = 0;

before(async () => {
  files = await makeTempDir('bgtransfer-scheduling-');
  source = await writeRandomFile(files.path, 'body.bin', 32 * 1024);
  server = await startSlowServer();
});
afterEach(async () => {
  server.reset();
  await home?.cleanup();
  home = undefined;
});
after(async () => {
  await server.close();
  await files.cleanup();
});

/** Plain requests only (no tus OPTIONS probe): every request the server sees is an upload. */
function uploader(group?: BackgroundTransferGroup): BackgroundUploader {
  const result = new BackgroundUploader();
  result.method = 'PUT';
  result.resumeProtocol = 'none';
  if (group) result.transferGroup = group;
  return result;
}

function newGroup(behavior: BackgroundTransferBehavior): BackgroundTransferGroup {
  groupSerial += 1;
  const group = BackgroundTransferGroup.createGroup(`scheduling-${process.pid}-${groupSerial}`);
  group.transferBehavior = behavior;
  return group;
}

/** Starts `operation` and keeps its settlement observed (the test awaits it later). */
function start(operation: UploadOperation): Promise<UploadOperation> {
  const done = Promise.resolve(operation.startAsync());
  done.catch(() => undefined);
  return done;
}

/** Until the engine stores every one of `guids` as queued (idle): they then compete for the next slot. */
async function waitQueued(guids: string[], list: () => Promise<Iterable<UploadOperation>>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const stored = [...(await list())];
    const queued = guids.every((guid) =>
      stored.some((op) => op.guid === guid && op.progress.status === BackgroundTransferStatus.idle),
    );
    if (queued) return;
    if (Date.now() > deadline) {
      const states = stored.map((op) => `${op.guid.slice(0, 8)}:${op.progress.status}`).join(' ');
      throw new Error(`not all of ${guids.length} uploads were queued within 10 s: ${states}`);
    }
    await sleep(10);
  }
}

const ungrouped = () => BackgroundUploader.getCurrentUploadsAsync();

/** Until the group's enumeration (which is in queue order) lists exactly `guids`. */
async function waitForOrder(group: BackgroundTransferGroup, guids: string[]): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const order = [...(await BackgroundUploader.getCurrentUploadsForTransferGroupAsync(group))].map((op) => op.guid);
    if (order.join() === guids.join()) return;
    assert.ok(Date.now() < deadline, `queue order ${order.join()} did not become ${guids.join()}`);
    await sleep(10);
  }
}

test('maxConcurrentTransfers 2: never more than 2 requests in flight at the server, and 2 do run at once', async () => {
  home = await useApiHome({ maxConcurrentTransfers: 2 }, 'sched-cap');
  server.setDelay('/cap/', 250);
  const operations = Array.from({ length: 6 }, (_, index) =>
    uploader().createUpload(`${server.url}/cap/${index}`, source.path),
  );
  const started = performance.now();
  const done = operations.map(start);
  await Promise.all(done);
  const elapsedMs = performance.now() - started;

  assert.equal(server.arrivals('/cap/').length, 6);
  assert.equal(server.maxInFlight('/cap/'), 2, 'at most two, and the cap is used');
  assert.ok(server.requests.every((request) => request.sha256 === source.sha256));
  // Six answers of 250 ms, at most two at a time: at least three rounds.
  assert.ok(elapsedMs >= 3 * 250 - 50, `elapsed ${Math.round(elapsedMs)} ms`);
});

test('priorities (R31): behind a blocker, High runs first, then Default, then Low; a queued priority change reorders', async () => {
  home = await useApiHome({ maxConcurrentTransfers: 1 }, 'sched-priority');
  const blocker = server.hold('/prio/blocker');
  const blocking = start(uploader().createUpload(`${server.url}/prio/blocker`, source.path));
  await server.waitForArrival('/prio/blocker');

  const a = uploader().createUpload(`${server.url}/prio/A`, source.path);
  const l = uploader().createUpload(`${server.url}/prio/L`, source.path);
  l.priority = BackgroundTransferPriority.low;
  const h = uploader().createUpload(`${server.url}/prio/H`, source.path);
  h.priority = BackgroundTransferPriority.high;
  const done = [a, l, h].map(start);
  await waitQueued([a.guid, l.guid, h.guid], ungrouped);
  blocker.release();
  await Promise.all([blocking, ...done]);
  assert.deepEqual(server.arrivals('/prio/'), ['/prio/blocker', '/prio/H', '/prio/A', '/prio/L']);
  assert.equal(server.maxInFlight('/prio/'), 1);

  // A priority changed while queued takes effect in the queue at once.
  const blocker2 = server.hold('/reprio/blocker');
  const blocking2 = start(uploader().createUpload(`${server.url}/reprio/blocker`, source.path));
  await server.waitForArrival('/reprio/blocker');
  const [first, second, third] = ['1', '2', '3'].map((name) =>
    uploader().createUpload(`${server.url}/reprio/${name}`, source.path),
  ) as [UploadOperation, UploadOperation, UploadOperation];
  const done2 = [first, second, third].map(start);
  await waitQueued([first.guid, second.guid, third.guid], ungrouped);
  third.priority = BackgroundTransferPriority.high;
  first.priority = BackgroundTransferPriority.low;
  const deadline = Date.now() + 5_000;
  for (;;) {
    const stored = [...(await ungrouped())];
    const priorityOf = (guid: string) => stored.find((op) => op.guid === guid)?.priority;
    if (
      priorityOf(third.guid) === BackgroundTransferPriority.high &&
      priorityOf(first.guid) === BackgroundTransferPriority.low
    ) {
      break;
    }
    assert.ok(Date.now() < deadline, 'the priority changes reached the engine');
    await sleep(10);
  }
  blocker2.release();
  await Promise.all([blocking2, ...done2]);
  assert.deepEqual(server.arrivals('/reprio/'), ['/reprio/blocker', '/reprio/3', '/reprio/2', '/reprio/1']);
});

test('Serialized group (R30): one member in flight at a time even with 4 slots; a Parallel group runs its members together', async () => {
  home = await useApiHome({ maxConcurrentTransfers: 4 }, 'sched-groups');
  server.setDelay('/ser/', 200);
  server.setDelay('/par/', 400);
  const serialized = newGroup(BackgroundTransferBehavior.serialized);
  const parallel = newGroup(BackgroundTransferBehavior.parallel);
  const serial = [1, 2, 3].map((index) => uploader(serialized).createUpload(`${server.url}/ser/${index}`, source.path));
  const together = [1, 2, 3].map((index) => uploader(parallel).createUpload(`${server.url}/par/${index}`, source.path));
  const done = [...serial, ...together].map(start);
  await Promise.all(done);

  assert.equal(server.maxInFlight('/ser/'), 1, 'a Serialized group never has two members in flight');
  assert.deepEqual(server.arrivals('/ser/'), ['/ser/1', '/ser/2', '/ser/3'], 'in the order they were started');
  assert.equal(server.maxInFlight('/par/'), 3, 'a Parallel group runs its members at once');
  assert.ok(server.maxInFlight('/') <= 4, 'and the cap still holds');
  for (const operation of [...serial, ...together]) {
    assert.equal(operation.progress.status, BackgroundTransferStatus.completed);
  }
});

test('makeCurrentInTransferGroup (R32), Serialized: the last queued member runs next; the running one is preempted and completes later', async () => {
  home = await useApiHome({ maxConcurrentTransfers: 4 }, 'sched-current-serial');
  const group = newGroup(BackgroundTransferBehavior.serialized);
  // Only the first request of A is held: it is in flight when D is made current.
  const holdA = server.hold('/mcs/A', { firstOnly: true });
  const [a, b, c, d] = ['A', 'B', 'C', 'D'].map((name) =>
    uploader(group).createUpload(`${server.url}/mcs/${name}`, source.path),
  ) as [UploadOperation, UploadOperation, UploadOperation, UploadOperation];
  const doneA = start(a);
  await server.waitForArrival('/mcs/A');
  const done = [b, c, d].map(start);
  const inGroup = () => BackgroundUploader.getCurrentUploadsForTransferGroupAsync(group);
  await waitQueued([b.guid, c.guid, d.guid], inGroup);

  d.makeCurrentInTransferGroup();
  await server.waitForArrival('/mcs/D');
  holdA.release();
  await Promise.all([doneA, ...done]);

  assert.deepEqual(server.arrivals('/mcs/'), ['/mcs/A', '/mcs/D', '/mcs/A', '/mcs/B', '/mcs/C']);
  const [firstA, secondA] = server.requests.filter((request) => request.path === '/mcs/A');
  assert.equal(firstA?.answered, false, 'the running member was stopped, not answered');
  assert.equal(secondA?.sha256, source.sha256, 'and sent again in full later');
  assert.equal(server.maxInFlight('/mcs/'), 1);
  for (const operation of [a, b, c, d]) assert.equal(operation.progress.status, BackgroundTransferStatus.completed);
});

test('makeCurrentInTransferGroup (R32), Parallel with one slot: the chosen member and those after it run next, nothing is preempted', async () => {
  home = await useApiHome({ maxConcurrentTransfers: 1 }, 'sched-current-parallel');
  const group = newGroup(BackgroundTransferBehavior.parallel);
  const holdA = server.hold('/mcp/A');
  const [a, b, c, d] = ['A', 'B', 'C', 'D'].map((name) =>
    uploader(group).createUpload(`${server.url}/mcp/${name}`, source.path),
  ) as [UploadOperation, UploadOperation, UploadOperation, UploadOperation];
  const doneA = start(a);
  await server.waitForArrival('/mcp/A');
  const done = [b, c, d].map(start);
  await waitQueued([b.guid, c.guid, d.guid], () => BackgroundUploader.getCurrentUploadsForTransferGroupAsync(group));

  c.makeCurrentInTransferGroup();
  // makeCurrent returns nothing to await: enumeration (queue order) shows when the engine reordered.
  await waitForOrder(group, [c.guid, d.guid, a.guid, b.guid]);
  holdA.release();
  await Promise.all([doneA, ...done]);
  assert.deepEqual(server.arrivals('/mcp/'), ['/mcp/A', '/mcp/C', '/mcp/D', '/mcp/B']);
  assert.equal(server.requests.filter((request) => request.path === '/mcp/A').length, 1, 'A was not preempted');
});

test('maxOperationsPerApp 2 (R29): the third start is BT_ERR_LIMIT_EXCEEDED and stores nothing; accepted once the first two ended', async () => {
  home = await useApiHome({ maxOperationsPerApp: 2 }, 'sched-op-limit');
  const holdFirst = server.hold('/lim/1');
  const holdSecond = server.hold('/lim/2');
  const [first, second, third] = ['1', '2', '3'].map((name) =>
    uploader().createUpload(`${server.url}/lim/${name}`, source.path),
  ) as [UploadOperation, UploadOperation, UploadOperation];
  const done = [first, second].map(start);
  await server.waitForArrival('/lim/1');
  await server.waitForArrival('/lim/2');

  await assert.rejects(Promise.resolve(third.startAsync()), (error: { code?: string; message?: string }) => {
    assert.equal(error.code, 'BT_ERR_LIMIT_EXCEEDED');
    assert.match(error.message ?? '', /maxOperationsPerApp/);
    return true;
  });
  const stored = [...(await ungrouped())].map((op) => op.guid);
  assert.deepEqual(stored.sort(), [first.guid, second.guid].sort(), 'the refused upload was not stored');
  await assert.rejects(third.pause(), { code: 'BT_ERR_ILLEGAL_STATE' }, 'the refused upload is still "created"');

  holdFirst.release();
  holdSecond.release();
  await Promise.all(done);
  // Not a stuck queue: the same operation starts now, and a fourth one too.
  await third.startAsync();
  const fourth = uploader().createUpload(`${server.url}/lim/4`, source.path);
  await fourth.startAsync();
  assert.deepEqual(server.arrivals('/lim/').sort(), ['/lim/1', '/lim/2', '/lim/3', '/lim/4']);
  assert.equal(third.progress.status, BackgroundTransferStatus.completed);
});

test('maxTransferGroupsPerApp 1 (R28): a second group is BT_ERR_LIMIT_EXCEEDED and stores nothing; the first group keeps working', async () => {
  home = await useApiHome({ maxTransferGroupsPerApp: 1 }, 'sched-group-limit');
  const firstGroup = newGroup(BackgroundTransferBehavior.parallel);
  const secondGroup = newGroup(BackgroundTransferBehavior.parallel);
  const holdFirst = server.hold('/glim/1');
  const inFirst = uploader(firstGroup).createUpload(`${server.url}/glim/1`, source.path);
  const done = start(inFirst);
  await server.waitForArrival('/glim/1');

  const inSecond = uploader(secondGroup).createUpload(`${server.url}/glim/2`, source.path);
  await assert.rejects(Promise.resolve(inSecond.startAsync()), (error: { code?: string; message?: string }) => {
    assert.equal(error.code, 'BT_ERR_LIMIT_EXCEEDED');
    assert.match(error.message ?? '', /maxTransferGroupsPerApp/);
    return true;
  });
  assert.deepEqual([...(await BackgroundUploader.getCurrentUploadsForTransferGroupAsync(secondGroup))], []);

  // Another upload in the existing group is no new group: accepted while the first runs, and after.
  const alsoFirst = uploader(firstGroup).createUpload(`${server.url}/glim/3`, source.path);
  const doneAlso = start(alsoFirst);
  holdFirst.release();
  await Promise.all([done, doneAlso]);
  const afterwards = uploader(firstGroup).createUpload(`${server.url}/glim/4`, source.path);
  await afterwards.startAsync();
  assert.deepEqual(server.arrivals('/glim/').sort(), ['/glim/1', '/glim/3', '/glim/4']);
  const members = [...(await BackgroundUploader.getCurrentUploadsForTransferGroupAsync(firstGroup))];
  assert.equal(members.length, 3);
});

test('maxTransferGroupsPerApp 1 (R28): once every upload of the first group ended, a new group is accepted (no stuck app)', async () => {
  home = await useApiHome({ maxTransferGroupsPerApp: 1 }, 'sched-group-limit-after');
  const firstGroup = newGroup(BackgroundTransferBehavior.parallel);
  const secondGroup = newGroup(BackgroundTransferBehavior.parallel);
  await uploader(firstGroup).createUpload(`${server.url}/gend/1`, source.path).startAsync();
  // docs/errors.md, BT_ERR_LIMIT_EXCEEDED: "Wait for uploads to finish, cancel some, or raise the setting".
  const next = uploader(secondGroup).createUpload(`${server.url}/gend/2`, source.path);
  await next.startAsync();
  assert.equal(next.progress.status, BackgroundTransferStatus.completed);
  assert.deepEqual(server.arrivals('/gend/'), ['/gend/1', '/gend/2']);
});
