import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/default-extras.ts';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import type { OperationStore } from '../../src/store/operation-store.ts';
import { type EngineHarness, startEngine } from '../helpers/engine-harness.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * What one small upload costs the engine in store calls, counted on a real engine and a real SQLite
 * store against a loopback server: a host queuing thousands of small uploads pays each call per upload
 * (docs/performance.md, "Host: many small uploads").
 */
let server: UploadServer;
let files: TempDir;
before(async () => {
  server = await startUploadServer();
  files = await makeTempDir('small-upload-path-');
});
after(async () => {
  await server.close();
  await files.cleanup();
});

/** Counts the store's calls by method name (the store's private fields need the real `this`). */
function countingStore(calls: Map<string, number>): (store: OperationStore) => OperationStore {
  return (store) =>
    new Proxy(store, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        return (...args: unknown[]) => {
          calls.set(property, (calls.get(property) ?? 0) + 1);
          return (value as (...params: unknown[]) => unknown).apply(target, args);
        };
      },
    });
}

const WRITES = [
  'insertOperation',
  'moveToRunning',
  'moveToQueued',
  'moveToCompleted',
  'moveToFailed',
  'recordProgress',
  'recordResponse',
  'resetReceived',
  'updateExtras',
  'markInterrupted',
  'recordAcknowledged',
  'applyEvent',
];

/** One 4 KiB PUT with resumeProtocol 'none' (the harness's default), counted from its start to its completion. */
async function uploadOnce(): Promise<{ calls: Map<string, number>; harness: EngineHarness }> {
  const calls = new Map<string, number>();
  const harness = await startEngine({}, { wrapStore: countingStore(calls) });
  const file = await writeRandomFile(files.path, `f-${calls.size}-${Date.now()}.bin`, 4096);
  const spec = harness.spec({ sourcePath: file.path, requestedUri: `${server.url}/u/1` });
  calls.clear();
  harness.engine.start(spec);
  const done = await harness.waitFor(spec.guid, (s) => s.progress.status === BackgroundTransferStatus.completed);
  assert.equal(done.response?.statusCode, 201);
  return { calls, harness };
}

test('a plain upload (resumeProtocol none) never reads the endpoint memory', async () => {
  const { calls, harness } = await uploadOnce();
  try {
    assert.equal(calls.get('getEndpointCapability') ?? 0, 0, JSON.stringify([...calls]));
  } finally {
    await harness.close();
  }
});

test('a small plain upload makes at most four store writes: queued, running, answer, completed', async () => {
  const { calls, harness } = await uploadOnce();
  try {
    const writes = WRITES.map((name) => [name, calls.get(name) ?? 0] as const).filter(([, count]) => count > 0);
    const total = writes.reduce((sum, [, count]) => sum + count, 0);
    assert.ok(total <= 4, `store writes: ${JSON.stringify(writes)}`);
  } finally {
    await harness.close();
  }
});

test('a small "auto" upload to a learned plain endpoint makes the same store writes as a plain one', async () => {
  const calls = new Map<string, number>();
  const harness = await startEngine({}, { wrapStore: countingStore(calls) });
  try {
    const upload = async (path: string) => {
      const file = await writeRandomFile(files.path, `a-${path}-${Date.now()}.bin`, 4096);
      const spec = harness.spec({
        sourcePath: file.path,
        requestedUri: `${server.url}/auto/${path}`,
        extras: { ...DEFAULT_REQUEST_EXTRAS, resumeProtocol: 'auto' },
      });
      harness.engine.start(spec);
      const done = await harness.waitFor(spec.guid, (s) => s.progress.status === BackgroundTransferStatus.completed);
      assert.equal(done.response?.statusCode, 201);
    };
    // The first one learns the origin (one OPTIONS, remembered as plain); the second is counted.
    await upload('first');
    calls.clear();
    await upload('second');
    const writes = WRITES.map((name) => [name, calls.get(name) ?? 0] as const).filter(([, count]) => count > 0);
    const total = writes.reduce((sum, [, count]) => sum + count, 0);
    assert.ok(total <= 4, `store writes: ${JSON.stringify(writes)}`);
    assert.equal(calls.get('getEndpointCapability') ?? 0, 0, JSON.stringify([...calls]));
    assert.equal(calls.get('listEndpointCapabilities') ?? 0, 0, JSON.stringify([...calls]));
  } finally {
    await harness.close();
  }
});

test('a queued upload is looked up (an app watching it right after its start) without reading the store', async () => {
  const calls = new Map<string, number>();
  const harness = await startEngine({ maxConcurrentTransfers: 1 }, { wrapStore: countingStore(calls) });
  try {
    server.route('/slow', () => ({ status: 201, delayMs: 300 }));
    const specs = [];
    for (const index of [1, 2]) {
      const file = await writeRandomFile(files.path, `q-${index}-${Date.now()}.bin`, 4096);
      specs.push(harness.spec({ sourcePath: file.path, requestedUri: `${server.url}/slow` }));
    }
    for (const spec of specs) harness.engine.start(spec);
    const queued = specs[1]?.guid ?? '';
    calls.clear();
    assert.equal(harness.engine.get(queued)?.progress.status, BackgroundTransferStatus.idle);
    assert.equal(calls.get('getOperation') ?? 0, 0, JSON.stringify([...calls]));
    await harness.waitFor(queued, (s) => s.progress.status === BackgroundTransferStatus.completed);
    assert.equal(
      harness.engine.get(queued)?.progress.status,
      BackgroundTransferStatus.completed,
      'then from the store',
    );
  } finally {
    await harness.close();
  }
});
