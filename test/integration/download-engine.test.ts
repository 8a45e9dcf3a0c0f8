import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BackgroundTransferStatus as S } from '../../src/core/enums.ts';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import type { OperationSpec } from '../../src/core/snapshot.ts';
import { startDownloadServer } from '../helpers/download-server.ts';
import { type EngineHarness, startEngine } from '../helpers/engine-harness.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { type NginxServer, startNginx } from '../helpers/nginx.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

const MIB = 1024 * 1024;

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** The files in `dir` whose names mark a download's partial file. */
async function partials(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.bgtransfer-partial'));
}

describe('downloads through the engine (nginx: static files with ranges and ETag)', () => {
  let nginx: NginxServer;
  let out: TempDir;
  let file: RandomFile;
  before(async () => {
    nginx = await startNginx();
    out = await makeTempDir('download-out-');
    const source = await makeTempDir('download-src-');
    file = await writeRandomFile(source.path, 'data.bin', 8 * MIB);
    await copyFile(file.path, join(nginx.root, 'data.bin'));
    await source.cleanup();
  });
  after(async () => {
    await nginx?.stop();
    await out?.cleanup();
  });

  function downloadSpec(h: EngineHarness, uri: string, resultPath: string): OperationSpec {
    return {
      ...h.spec({ sourcePath: '', requestedUri: uri }),
      method: 'GET',
      sourcePath: null,
      extras: { ...DEFAULT_REQUEST_EXTRAS, body: { kind: 'none' } },
      download: { resultPath },
    };
  }

  it('downloads the whole file byte-exact and leaves no partial file', async () => {
    const h = await startEngine();
    try {
      const resultPath = join(out.path, 'whole.bin');
      const started = h.engine.start(downloadSpec(h, `${nginx.davUrl}data.bin`, resultPath));
      assert.equal(started.direction, 'download');
      assert.equal(started.resultPath, resultPath);
      const done = await h.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
      assert.equal(done.progress.bytesReceived, file.size);
      assert.equal(done.progress.totalBytesToReceive, file.size);
      assert.equal(done.response?.statusCode, 200);
      assert.equal(await sha256Of(resultPath), file.sha256);
      // 0600 while it downloads; done, the mode any new file gets here (docs/downloads.md, "The partial file").
      const umask = Number.parseInt(
        /^Umask:\s*([0-7]+)$/m.exec(await readFile('/proc/self/status', 'latin1'))?.[1] ?? '',
        8,
      );
      assert.equal(((await stat(resultPath)).mode & 0o777).toString(8), (0o666 & ~umask).toString(8));
      assert.deepEqual(await partials(out.path), []);
      assert.deepEqual(
        h.engine.list('engine-test', { kind: 'all' }, 'upload').map((s) => s.guid),
        [],
        'a download is not listed among uploads',
      );
    } finally {
      await h.close();
    }
  });

  it('resumes after the connection is cut with Range/If-Range, fetching at most 1 MiB twice', async () => {
    const proxy: FaultProxy = await startFaultProxy(Number(new URL(nginx.url).port));
    const h = await startEngine({ retryBaseDelayMs: 100 });
    try {
      proxy.nextConnection({ truncateAfterDownstreamBytes: 3 * MIB });
      const resultPath = join(out.path, 'resumed.bin');
      const started = h.engine.start(downloadSpec(h, `${proxy.url}/dav/data.bin`, resultPath));
      const done = await h.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
      assert.equal(await sha256Of(resultPath), file.sha256);
      assert.ok(proxy.connections.length >= 2, 'a second request continued the download');
      const fetchedTwice = proxy.downstreamBytes() - file.size;
      assert.ok(fetchedTwice <= MIB, `bytes fetched twice: ${fetchedTwice}`);
      assert.equal(done.response?.statusCode, 206, 'the last answer was the rest of the file');
      assert.equal(done.progress.hasRestarted, false);
      assert.deepEqual(await partials(out.path), []);
    } finally {
      await h.close();
      await proxy.close();
    }
  });

  it('a connection reset (RST) mid-body: the server sends at most 1 MiB twice', async () => {
    // The node:http server counts what it handed to its socket; the rate keeps that close to what the
    // client got (little sits in socket buffers), so the count is what a reset really costs.
    const server = await startDownloadServer();
    await server.serve('/data.bin', join(nginx.root, 'data.bin'), { throttleBytesPerSecond: 8 * MIB });
    const proxy: FaultProxy = await startFaultProxy(server.port);
    const h = await startEngine({ retryBaseDelayMs: 100 });
    try {
      proxy.nextConnection({ resetAfterDownstreamBytes: 3 * MIB });
      const resultPath = join(out.path, 'reset.bin');
      const started = h.engine.start(downloadSpec(h, `${proxy.url}/data.bin`, resultPath));
      const done = await h.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
      assert.equal(await sha256Of(resultPath), file.sha256);
      assert.equal(proxy.connections[0]?.fault, 'reset');
      assert.equal(done.response?.statusCode, 206, 'the rest came with a range request');
      assert.ok(server.requests.length >= 2);
      const sentTwice = server.bytesSentTwice('/data.bin');
      assert.ok(sentTwice <= MIB, `bytes the server sent twice: ${sentTwice}`);
      assert.deepEqual(await partials(out.path), []);
    } finally {
      await h.close();
      await proxy.close();
      await server.close();
    }
  });
});
