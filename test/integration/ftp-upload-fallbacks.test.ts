import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { uploadFtp } from '../../src/protocols/ftp/ftp-upload.ts';
import { findFreePort } from '../helpers/free-port.ts';
import { startFtpSrv } from '../helpers/ftp-servers.ts';
import { inputFor, SMALL_SIZE, sha256File, small, transferErrorOf, useFtpFiles } from '../helpers/ftp-upload-kit.ts';
import { listenOnLoopback } from '../helpers/loopback.ts';

/**
 * uploadFtp where the usual path is missing: servers that answer 502 to APPE, REST or SIZE (ftp-srv
 * with commands disabled), a refused connection, a server that never greets, a URL without a file.
 */

useFtpFiles();

describe('uploadFtp resume on servers without APPE, REST or SIZE (ftp-srv answering 502)', () => {
  const HELD = 300_001;

  async function resumeWith(disabledCommands: string[]) {
    const server = await startFtpSrv({ disabledCommands });
    try {
      // What an interrupted first attempt left: the body's first HELD bytes.
      const target = join(server.root, 'partial.bin');
      await pipeline(createReadStream(small.path, { end: HELD - 1 }), createWriteStream(target));
      const offsets: number[] = [];
      const result = await uploadFtp(
        inputFor(`${server.url}partial.bin`, {
          credentials: server.login,
          resume: true,
          onOffset: (offset) => offsets.push(offset),
        }),
      );
      return { result, offsets, sha256: await sha256File(target) };
    } finally {
      await server.stop();
    }
  }

  test('without APPE it resumes with REST + STOR', async () => {
    const { result, offsets, sha256 } = await resumeWith(['APPE']);
    assert.equal(result.startOffset, HELD);
    assert.equal(result.bytesSent, SMALL_SIZE - HELD);
    assert.equal(result.restarted, false);
    assert.deepEqual(offsets, [HELD, SMALL_SIZE]);
    assert.equal(sha256, small.sha256);
  });

  test('without APPE and REST it starts over with STOR and says why', async () => {
    const { result, offsets, sha256 } = await resumeWith(['APPE', 'REST']);
    assert.equal(result.restarted, true);
    assert.match(result.restartReason ?? '', /neither APPE nor REST/);
    assert.equal(result.startOffset, 0);
    assert.equal(result.bytesSent, SMALL_SIZE);
    assert.deepEqual(offsets, [HELD, 0, SMALL_SIZE]);
    assert.equal(sha256, small.sha256);
  });

  test('without SIZE it starts over with STOR and cannot verify the size', async () => {
    const { result, offsets, sha256 } = await resumeWith(['SIZE']);
    assert.equal(result.restarted, true);
    assert.match(result.restartReason ?? '', /SIZE/);
    assert.equal(result.bytesSent, SMALL_SIZE);
    assert.equal(result.sizeVerified, false);
    assert.deepEqual(offsets, [0]);
    assert.equal(sha256, small.sha256);
  });
});

describe('uploadFtp without a server', () => {
  test('a refused connection is BT_ERR_CANNOT_CONNECT', async () => {
    const port = await findFreePort();
    const error = await transferErrorOf(uploadFtp(inputFor(`ftp://127.0.0.1:${port}/file.bin`)));
    assert.equal(error.code, 'BT_ERR_CANNOT_CONNECT');
    assert.equal(error.retryable, true);
    assert.equal(
      error.message,
      `FTP connect to 127.0.0.1:${port} at ftp://127.0.0.1:${port}/file.bin: the server refused the connection (nothing listens on that port)`,
    );
  });

  test('a server that never greets is BT_ERR_TIMEOUT after connectTimeoutMs', async () => {
    const accepted = new Set<Socket>();
    const silent = createServer((socket) => accepted.add(socket));
    const { port } = await listenOnLoopback(silent);
    try {
      const startedAt = performance.now();
      const error = await transferErrorOf(
        uploadFtp(inputFor(`ftp://127.0.0.1:${port}/file.bin`, { connectTimeoutMs: 300 })),
      );
      const waited = performance.now() - startedAt;
      assert.equal(error.code, 'BT_ERR_TIMEOUT');
      assert.ok(waited >= 290 && waited < 2_000, `timed out after ${waited.toFixed(0)} ms`);
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('a URL without a file name is BT_ERR_INVALID_URI', async () => {
    const error = await transferErrorOf(uploadFtp(inputFor('ftp://127.0.0.1:21/dir/')));
    assert.equal(error.code, 'BT_ERR_INVALID_URI');
  });
});
