import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import { startDigestServer } from '../helpers/digest-server.ts';
import { startEngine } from '../helpers/engine-harness.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/**
 * A plain upload with `Repr-Digest` (sendContentDigest) to a server that checks it, behind the fault
 * proxy flipping one byte of the body in flight: the server answers 400 "digest mismatch", the body
 * is sent again from byte 0 (hasRestarted), and what the server accepts is the file exactly. A path
 * that alters every body ends in BT_ERR_CHECKSUM_MISMATCH after a bounded number of re-sends.
 */

const MIB = 1024 * 1024;
let dir: TempDir;
let file: RandomFile;

before(async () => {
  dir = await makeTempDir('repr-digest-resend-');
  file = await writeRandomFile(dir.path, 'body.bin', 2 * MIB + 17);
});
after(async () => {
  await dir.cleanup();
});

async function run(plan: { firstOnly: boolean }) {
  const server = await startDigestServer({ userName: 'unused', password: 'unused', checkReprDigest: true });
  const proxy = await startFaultProxy(server.port);
  const h = await startEngine({ retryBaseDelayMs: 50, maxAttempts: 1, progressIntervalMs: 20 });
  try {
    // A byte 1 MiB into the connection: inside the body (the request head is far smaller).
    if (plan.firstOnly) proxy.nextConnection({ flipUpstreamByteAt: MIB });
    else proxy.setDefaultPlan({ flipUpstreamByteAt: MIB });
    const spec = h.spec({
      sourcePath: file.path,
      requestedUri: `${proxy.url}/open/upload.bin`,
      method: 'PUT',
      extras: { ...DEFAULT_REQUEST_EXTRAS, resumeProtocol: 'none', sendContentDigest: true },
    });
    h.engine.start(spec);
    const done = await h.waitFor(
      spec.guid,
      (snapshot) =>
        snapshot.progress.status === BackgroundTransferStatus.completed ||
        snapshot.progress.status === BackgroundTransferStatus.error,
      60_000,
    );
    const restarted = h.updates.some((update) => update.guid === spec.guid && update.progress.hasRestarted);
    return { done, restarted, requests: [...server.requests], mismatches: server.digestMismatches(), proxy };
  } finally {
    await h.close();
    await proxy.close();
    await server.close();
  }
}

test('a Repr-Digest rejected for a byte altered in flight: the body is sent again and arrives exactly', async () => {
  const { done, restarted, requests, mismatches, proxy } = await run({ firstOnly: true });
  assert.equal(done.progress.status, BackgroundTransferStatus.completed, JSON.stringify(done.error));
  assert.ok(
    proxy.connections.some((connection) => connection.fault === 'flip'),
    'a byte was flipped',
  );
  assert.equal(mismatches, 1, 'the altered body was refused once');
  assert.deepEqual(
    requests.map((request) => request.status),
    [400, 201],
  );
  assert.equal(requests.at(-1)?.sha256, file.sha256, 'the accepted body is the file');
  assert.equal(done.response?.statusCode, 201);
  assert.ok(restarted, 'hasRestarted was reported for the re-sent body (R38)');
});

test('a path that alters every body: BT_ERR_CHECKSUM_MISMATCH after three re-sends', async () => {
  const { done, requests } = await run({ firstOnly: false });
  assert.equal(done.progress.status, BackgroundTransferStatus.error);
  assert.equal(done.error?.code, 'BT_ERR_CHECKSUM_MISMATCH', JSON.stringify(done.error));
  assert.match(done.error?.message ?? '', /PUT .*upload\.bin.*400 \(digest mismatch/);
  assert.deepEqual(
    requests.map((request) => request.status),
    [400, 400, 400, 400],
  );
});
