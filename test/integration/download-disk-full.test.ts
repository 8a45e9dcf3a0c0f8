import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { BackgroundTransferStatus as S } from '../../src/core/enums.ts';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import { startDownloadServer } from '../helpers/download-server.ts';
import { startEngine } from '../helpers/engine-harness.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

/**
 * A download whose result directory is a 1 MiB tmpfs (the CI runs as root, so it can mount one): the
 * write fails with ENOSPC, the download waits with BT_ERR_DISK_FULL and spends no attempt, and once the
 * file system is grown it continues from its partial file and completes byte-exact.
 */
const MIB = 1024 * 1024;

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

test('ENOSPC: waits with BT_ERR_DISK_FULL and resumes from the partial file when space returns', async () => {
  const dir = await makeTempDir('bgtransfer-disk-full-');
  const mountPoint = join(dir.path, 'small');
  mkdirSync(mountPoint);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mountPoint]);
  const body = randomBytes(3 * MIB);
  const server = await startDownloadServer();
  await server.serve('/file', body);
  const h = await startEngine({ retryBaseDelayMs: 50, maxAttempts: 2 });
  try {
    const resultPath = join(mountPoint, 'big.bin');
    const started = h.engine.start({
      ...h.spec({ sourcePath: '', requestedUri: `${server.url}/file` }),
      method: 'GET',
      sourcePath: null,
      extras: { ...DEFAULT_REQUEST_EXTRAS, body: { kind: 'none' } },
      download: { resultPath },
    });
    const waiting = await h.waitFor(started.guid, (s) => s.error?.code === 'BT_ERR_DISK_FULL', 30_000);
    assert.equal(waiting.progress.status, S.idle, 'queued again, not failed');
    assert.ok(waiting.progress.bytesReceived > 0, 'what fit was kept');
    // More disk-full rounds than maxAttempts: none of them spends an attempt.
    const rounds = () => server.requests.length;
    const before = rounds();
    await h.waitFor(started.guid, () => rounds() >= before + 3, 30_000);
    assert.notEqual(h.engine.get(started.guid)?.progress.status, S.error);
    execFileSync('mount', ['-o', 'remount,size=16m', mountPoint]);
    const done = await h.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
    assert.equal(done.progress.bytesReceived, body.length);
    assert.equal(sha256(await readFile(resultPath)), sha256(body));
    assert.equal(server.requests.at(-1)?.status, 206, 'the last request continued the partial file');
  } finally {
    await h.close();
    await server.close();
    execFileSync('umount', [mountPoint]);
    await dir.cleanup();
  }
});
