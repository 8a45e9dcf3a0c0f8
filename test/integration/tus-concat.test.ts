import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import { DEFAULT_EXTRAS, DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { tusProtocol } from '../../src/protocols/tus/tus-adapter.ts';
import { probeTusEndpoint } from '../../src/protocols/tus/tus-control.ts';
import { type TusPart, type TusUploadInput, uploadTus } from '../../src/protocols/tus/tus-upload.ts';
import { fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { startEngine } from '../helpers/engine-harness.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startTusChecksumServer } from '../helpers/tus-checksum-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

/**
 * tus's concatenation extension (tusParallelUploads): partial uploads sent at once, each resumable on
 * its own, joined by a final creation. @tus/server 2.x has no concatenation, so the small in-memory
 * tus server of the checksum tests is used, with the extension switched on.
 */

const MIB = 1024 * 1024;
let dir: TempDir;
let file: RandomFile;
let dispatcher: Dispatcher;
let counter = 0;

before(async () => {
  dir = await makeTempDir('tus-concat-');
  file = await writeRandomFile(dir.path, 'body.bin', 4 * MIB + 4321);
  dispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
});
after(async () => {
  await dispatcher.close();
  await dir.cleanup();
});

interface Seen {
  parts: TusPart[][];
  sent: number[];
  offsets: number[];
}

function input(endpoint: string, overrides: Partial<TusUploadInput> = {}) {
  const seen: Seen = { parts: [], sent: [], offsets: [] };
  counter += 1;
  const value: TusUploadInput = {
    endpoint: new URL(endpoint),
    headers: [],
    body: fileBody(inspectSourceFile(file.path)),
    metadata: { filename: 'body.bin' },
    session: null,
    dispatcher,
    signal: new AbortController().signal,
    responseTimeoutMs: 15_000,
    stallTimeoutMs: 10_000,
    responseBodyPath: join(dir.path, `response-${counter}.bin`),
    parallelUploads: 4,
    onParts: (parts) => seen.parts.push(parts.map((part) => ({ ...part }))),
    onSession() {},
    onOffset: (offset) => seen.offsets.push(offset),
    onBytesSent: (sent) => seen.sent.push(sent),
    onResponse() {},
    onBytesReceived() {},
    ...overrides,
  };
  return { value, seen };
}

function idOf(url: string | null): string {
  return new URL(url ?? 'http://x/').pathname.split('/').at(-1) ?? '';
}

test('concatenation: four partial uploads at once, then the final creation; progress is their sum', async () => {
  const server = await startTusChecksumServer({ concatenation: true });
  const proxy = await startFaultProxy(server.port);
  try {
    // Each connection at most 1 MiB/s: a 1 MiB part takes a second, so parts that are sent at once
    // overlap at the server even on a loaded machine.
    proxy.setDefaultPlan({ throttleBytesPerSecond: MIB });
    const endpoint = `${proxy.url}/files/`;
    const probe = await probeTusEndpoint(new URL(endpoint), dispatcher, new AbortController().signal, []);
    assert.ok(probe.extensions.includes('concatenation'));
    const { value, seen } = input(endpoint, { extensions: probe.extensions });
    const result = await uploadTus(value);
    assert.equal(result.requestMethod, 'POST');
    assert.equal(result.response.statusCode, 201);
    const concat = server.creations.map((creation) => creation.concat?.split(';')[0]);
    assert.deepEqual(concat, ['partial', 'partial', 'partial', 'partial', 'final']);
    assert.ok(server.maxConcurrentPatches() >= 2, `PATCHes at once: ${server.maxConcurrentPatches()}`);
    const stored = seen.parts.at(-1) ?? [];
    assert.equal(stored.length, 4);
    assert.equal(stored[0]?.start, 0);
    assert.equal(stored.at(-1)?.end, file.size);
    assert.ok(stored.every((part) => part.uploadUrl !== null && part.offset === part.end - part.start));
    // The final creation lists the parts in body order.
    const finalUrls = server.creations.at(-1)?.concat?.slice('final;'.length).split(' ') ?? [];
    assert.deepEqual(
      finalUrls,
      stored.map((part) => part.uploadUrl),
    );
    const finalId = server.creations.at(-1)?.uploadId ?? '';
    assert.equal(server.sha256(finalId), file.sha256);
    assert.equal(seen.sent.at(-1), file.size);
    assert.equal(Math.max(...seen.sent), file.size, 'progress never exceeds the body');
    assert.equal(seen.offsets.at(-1), file.size);
  } finally {
    await proxy.close();
    await server.close();
  }
});

test('concatenation: parts resume on their own; a part the server forgot is created again alone', async () => {
  const server = await startTusChecksumServer({ concatenation: true });
  try {
    const extensions = ['creation', 'concatenation'];
    // First attempt: stopped once the parts together have 2 MiB acknowledged (256 KiB PATCHes).
    const stop = new AbortController();
    const first = input(server.endpoint, {
      extensions,
      chunkSizeBytes: 256 * 1024,
      signal: stop.signal,
      onOffset: (offset) => {
        if (offset >= 2 * MIB) stop.abort(new Error('stopped by the test'));
      },
    });
    await uploadTus(first.value).then(
      () => assert.fail('the attempt was stopped'),
      () => undefined,
    );
    const kept = first.seen.parts.at(-1) ?? [];
    assert.equal(kept.length, 4);
    assert.ok(
      kept.every((part) => part.uploadUrl !== null),
      'every part was created',
    );
    const forgotten = kept.find((part) => part.offset > 0 && part.offset < part.end - part.start) ?? kept[1];
    assert.ok(forgotten);
    server.forget(idOf(forgotten.uploadUrl));
    const creationsBefore = server.creations.length;
    const patchedBefore = server.patches.filter((patch) => patch.status === 204).reduce((n, p) => n + p.bytes, 0);
    // What the server holds of the parts it kept: a PATCH it stored may have been answered after the
    // stop, so the stopped attempt's own offsets can be a chunk behind the server's.
    const keptIds = new Set(kept.filter((part) => part !== forgotten).map((part) => idOf(part.uploadUrl)));
    const keptBytes = server.patches
      .filter((patch) => patch.status === 204 && keptIds.has(patch.uploadId))
      .reduce((n, p) => n + p.bytes, 0);

    const second = input(server.endpoint, { extensions, parts: kept });
    const result = await uploadTus(second.value);
    assert.equal(result.response.statusCode, 201);
    const again = server.creations.slice(creationsBefore).map((creation) => creation.concat?.split(';')[0]);
    assert.deepEqual(again, ['partial', 'final'], 'only the forgotten part was created again');
    const finalId = server.creations.at(-1)?.uploadId ?? '';
    assert.equal(server.sha256(finalId), file.sha256);
    const patchedAfter = server.patches.filter((patch) => patch.status === 204).reduce((n, p) => n + p.bytes, 0);
    assert.equal(patchedAfter - patchedBefore, file.size - keptBytes, 'the other parts sent only what they lacked');
  } finally {
    await server.close();
  }
});

test('through the engine ("auto"): tusParallelUploads uploads in parts, stored with the operation', async () => {
  const server = await startTusChecksumServer({ concatenation: true });
  const proxy = await startFaultProxy(server.port);
  const h = await startEngine({ retryBaseDelayMs: 50 });
  try {
    // Slow enough (2 MiB/s a connection) to pause while the parts are under way.
    proxy.setDefaultPlan({ throttleBytesPerSecond: 2 * MIB });
    const spec = h.spec({
      sourcePath: file.path,
      requestedUri: `${proxy.url}/files/`,
      method: 'POST',
      extras: { ...DEFAULT_REQUEST_EXTRAS, resumeProtocol: 'auto', tusParallelUploads: 3 },
    });
    h.engine.start(spec);
    await h.waitFor(spec.guid, (snapshot) => snapshot.progress.bytesSent >= MIB, 60_000);
    h.engine.pause(spec.guid);
    await h.waitFor(spec.guid, (snapshot) => snapshot.progress.status === BackgroundTransferStatus.pausedByApplication);
    const parts = h.engine.getRecord(spec.guid)?.extras.session?.tusParts ?? [];
    assert.equal(parts.length, 3, 'the parts are stored with the operation');
    assert.ok(parts.every((part) => part.uploadUrl !== null));
    proxy.setDefaultPlan({});
    h.engine.resume(spec.guid);
    const done = await h.waitFor(
      spec.guid,
      (snapshot) =>
        snapshot.progress.status === BackgroundTransferStatus.completed ||
        snapshot.progress.status === BackgroundTransferStatus.error,
      60_000,
    );
    assert.equal(done.progress.status, BackgroundTransferStatus.completed, JSON.stringify(done.error));
    const concat = server.creations.map((creation) => creation.concat?.split(';')[0]);
    assert.deepEqual(concat, ['partial', 'partial', 'partial', 'final'], 'the resume created no part again');
    assert.ok(server.methods.includes('HEAD'), 'the parts were asked for their offsets');
    assert.equal(server.sha256(server.creations.at(-1)?.uploadId ?? ''), file.sha256);
    assert.equal(done.contentDigest, `sha-256=:${Buffer.from(file.sha256, 'hex').toString('base64')}:`);
  } finally {
    await h.close();
    await proxy.close();
    await server.close();
  }
});

test('cancel (through the engine): every partial upload is deleted on the server, not left to expire', async () => {
  const server = await startTusChecksumServer({ concatenation: true });
  const proxy = await startFaultProxy(server.port);
  const h = await startEngine({ retryBaseDelayMs: 50 });
  try {
    proxy.setDefaultPlan({ throttleBytesPerSecond: 2 * MIB });
    const spec = h.spec({
      sourcePath: file.path,
      requestedUri: `${proxy.url}/files/`,
      method: 'POST',
      extras: { ...DEFAULT_REQUEST_EXTRAS, resumeProtocol: 'auto', tusParallelUploads: 3 },
    });
    h.engine.start(spec);
    await h.waitFor(spec.guid, (snapshot) => snapshot.progress.bytesSent >= MIB, 60_000);
    const parts = h.engine.getRecord(spec.guid)?.extras.session?.tusParts ?? [];
    assert.equal(parts.length, 3);
    await waitFor('every part created', () => server.uploadIds().length === 3, 30_000);
    h.engine.cancel(spec.guid);
    await h.waitFor(spec.guid, (snapshot) => snapshot.progress.status === BackgroundTransferStatus.canceled);
    await waitFor('the parts deleted', () => server.uploadIds().length === 0, 30_000);
    assert.equal(server.methods.filter((method) => method === 'DELETE').length, 3);
  } finally {
    await h.close();
    await proxy.close();
    await server.close();
  }
});

test('terminate: a part the server already forgot (404) counts as removed; the others are deleted', async () => {
  const server = await startTusChecksumServer({ concatenation: true });
  try {
    const extensions = ['creation', 'concatenation'];
    const stop = new AbortController();
    const first = input(server.endpoint, {
      extensions,
      chunkSizeBytes: 256 * 1024,
      signal: stop.signal,
      onOffset: (offset) => {
        if (offset >= MIB) stop.abort(new Error('stopped by the test'));
      },
    });
    await uploadTus(first.value).then(
      () => assert.fail('the attempt was stopped'),
      () => undefined,
    );
    const kept = first.seen.parts.at(-1) ?? [];
    assert.equal(kept.length, 4);
    assert.ok(kept.every((part) => part.uploadUrl !== null));
    server.forget(idOf(kept[1]?.uploadUrl ?? null));
    assert.equal(server.uploadIds().length, 3);
    await tusProtocol.terminate?.({
      session: { protocol: 'tus', uploadUrl: null, tusParts: kept },
      headers: [],
      extras: DEFAULT_EXTRAS,
      dispatcher,
      signal: AbortSignal.timeout(15_000),
      credentialScope: new URL(server.endpoint),
    });
    assert.deepEqual(server.uploadIds(), []);
    assert.equal(server.methods.filter((method) => method === 'DELETE').length, 4);
  } finally {
    await server.close();
  }
});
