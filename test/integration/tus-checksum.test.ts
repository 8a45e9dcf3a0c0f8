import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { probeTusEndpoint } from '../../src/protocols/tus/tus-control.ts';
import { uploadTus } from '../../src/protocols/tus/tus-upload.ts';
import { fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { startEngine } from '../helpers/engine-harness.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startTusChecksumServer } from '../helpers/tus-checksum-server.ts';

/**
 * tus's checksum extension against a tus server that checks `Upload-Checksum` (sha256), behind the
 * fault proxy flipping one byte of a PATCH body in flight: the server answers 460, only that chunk is
 * sent again, and the stored upload is byte-exact.
 */

const MIB = 1024 * 1024;
let dir: TempDir;
let file: RandomFile;
let dispatcher: Dispatcher;

before(async () => {
  dir = await makeTempDir('tus-checksum-');
  file = await writeRandomFile(dir.path, 'body.bin', 4 * MIB + 99);
  dispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
});
after(async () => {
  await dispatcher.close();
  await dir.cleanup();
});

test('the probe learns sha256 checksums; a byte flipped in flight gets 460 and only that chunk is re-sent', async () => {
  const server = await startTusChecksumServer();
  const proxy = await startFaultProxy(server.port);
  try {
    const endpoint = new URL(`${proxy.url}/files/`);
    const signal = new AbortController().signal;
    // Every connection flips the byte 1.5 MiB in: within the second 1 MiB chunk when the probe, the
    // creation and the PATCHes share a connection (the heads are far smaller than a chunk).
    proxy.setDefaultPlan({ flipUpstreamByteAt: 1.5 * MIB });
    const probe = await probeTusEndpoint(endpoint, dispatcher, signal, []);
    assert.deepEqual({ tus: probe.tus, sha256Checksum: probe.sha256Checksum }, { tus: true, sha256Checksum: true });
    const offsets: number[] = [];
    const result = await uploadTus({
      endpoint,
      headers: [],
      body: fileBody(inspectSourceFile(file.path)),
      metadata: {},
      session: null,
      dispatcher,
      signal,
      responseTimeoutMs: 10_000,
      stallTimeoutMs: 5_000,
      responseBodyPath: join(dir.path, 'response.bin'),
      chunkSizeBytes: MIB,
      sha256Checksum: true,
      onSession() {},
      onOffset: (offset) => offsets.push(offset),
      onBytesSent() {},
      onResponse() {},
      onBytesReceived() {},
    });
    assert.equal(result.response.statusCode, 204);
    assert.ok(
      proxy.connections.some((connection) => connection.fault === 'flip'),
      'a byte was flipped',
    );
    const rejected = server.patches.filter((patch) => patch.status === 460);
    assert.equal(rejected.length, 1, JSON.stringify(server.patches));
    const again = server.patches.filter((patch) => patch.offset === rejected[0]?.offset);
    assert.deepEqual(
      again.map((patch) => patch.status),
      [460, 204],
      'the altered chunk, and only it, is sent again',
    );
    assert.equal(server.patches.length, 6, 'five 1 MiB chunks (the last one 99 bytes) plus the one re-sent');
    assert.ok(server.patches.every((patch) => patch.checksum?.startsWith('sha256 ')));
    const [id] = server.uploadIds();
    assert.equal(server.sha256(id ?? ''), file.sha256);
  } finally {
    await proxy.close();
    await server.close();
  }
});

test('through the engine ("auto" probes): a flipped byte is caught and re-sent; contentDigest is the file\'s', async () => {
  const server = await startTusChecksumServer();
  const proxy = await startFaultProxy(server.port);
  const h = await startEngine({ retryBaseDelayMs: 50 });
  try {
    proxy.setDefaultPlan({ flipUpstreamByteAt: 2 * MIB });
    const spec = h.spec({
      sourcePath: file.path,
      requestedUri: `${proxy.url}/files/`,
      method: 'POST',
      extras: { ...DEFAULT_REQUEST_EXTRAS, resumeProtocol: 'auto' },
    });
    h.engine.start(spec);
    const done = await h.waitFor(
      spec.guid,
      (snapshot) =>
        snapshot.progress.status === BackgroundTransferStatus.completed ||
        snapshot.progress.status === BackgroundTransferStatus.error,
      60_000,
    );
    assert.equal(done.progress.status, BackgroundTransferStatus.completed, JSON.stringify(done.error));
    assert.ok(
      server.patches.some((patch) => patch.status === 460),
      JSON.stringify(server.patches),
    );
    const [id] = server.uploadIds();
    assert.equal(server.sha256(id ?? ''), file.sha256);
    assert.equal(done.contentDigest, `sha-256=:${Buffer.from(file.sha256, 'hex').toString('base64')}:`);
  } finally {
    await h.close();
    await proxy.close();
    await server.close();
  }
});
