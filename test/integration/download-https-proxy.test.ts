import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BackgroundTransferStatus as S } from '../../src/core/enums.ts';
import { type ParityServer, startParityServer } from '../helpers/download-parity-server.ts';
import { downloadSpec, ended, sha256 } from '../helpers/download-parity-spec.ts';
import { startEngine } from '../helpers/engine-harness.ts';
import { type HttpProxy, startHttpProxy } from '../helpers/http-proxy.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls-certs.ts';

/**
 * A download from an HTTPS server through an HTTPS proxy: TLS to the proxy, CONNECT, and TLS to the
 * origin inside the tunnel, both trusted through extraCaCertificates. The proxy sees only the tunnel's
 * target, never a path; the origin's answers (200, then a 206 for the resume) come through it whole.
 */
let certificates: TestCertificates;
let dir: TempDir;
let caPath: string;
let proxy: HttpProxy;

before(async () => {
  certificates = await makeTestCertificates();
  dir = await makeTempDir('download-https-proxy-');
  caPath = join(dir.path, 'test-ca.pem');
  await writeFile(caPath, certificates.caCert);
  proxy = await startHttpProxy({ tls: certificates.valid });
});
after(async () => {
  await proxy.close();
  await dir.cleanup();
});

test('a download from an HTTPS server through an HTTPS proxy (CONNECT) completes byte-exact', async () => {
  const body = randomBytes(3 * 1024 * 1024 + 17);
  const origin: ParityServer = await startParityServer(body, { tls: certificates.valid });
  const h = await startEngine({ proxy: proxy.url, extraCaCertificates: [caPath], maxAttempts: 1 });
  try {
    assert.match(proxy.url, /^https:/);
    const { spec, resultPath } = downloadSpec(h, dir.path, `${origin.url}/through-tunnel.bin`);
    const done = await h.waitFor(h.engine.start(spec).guid, ended, 30_000);
    assert.equal(done.progress.status, S.completed, JSON.stringify(done.error));
    assert.equal(sha256(await readFile(resultPath)), sha256(body));
    assert.equal(done.progress.bytesReceived, body.length);
    assert.deepEqual(
      origin.requests.map((r) => [r.url, r.status]),
      [['/through-tunnel.bin', 200]],
    );
    const tunnels = proxy.requests.filter((r) => r.target === new URL(origin.url).host);
    assert.equal(tunnels.length, 1, JSON.stringify(proxy.requests));
    assert.equal(tunnels[0]?.kind, 'connect');
    assert.equal(tunnels[0]?.status, 200);
    assert.ok((tunnels[0]?.bytesDown ?? 0) > body.length, 'the body came through the tunnel (encrypted)');
    assert.ok(
      proxy.requests.every((r) => !r.target.includes('through-tunnel')),
      'the proxy never saw the path',
    );
  } finally {
    await h.close();
    await origin.close();
  }
});

test('through the same HTTPS proxy, a download whose origin stalls resumes with Range in a new tunnel', async () => {
  const body = randomBytes(400_000);
  const origin = await startParityServer(body, { tls: certificates.valid, stallAfterBytes: 150_000 });
  const h = await startEngine({
    proxy: proxy.url,
    extraCaCertificates: [caPath],
    stallTimeoutMs: 1_000,
    retryBaseDelayMs: 5,
  });
  try {
    const { spec, resultPath } = downloadSpec(h, dir.path, `${origin.url}/stall.bin`);
    const done = await h.waitFor(h.engine.start(spec).guid, ended, 30_000);
    assert.equal(done.progress.status, S.completed, JSON.stringify(done.error));
    assert.equal(sha256(await readFile(resultPath)), sha256(body));
    assert.equal(origin.requests.length, 2);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(origin.requests[1]?.range ?? '')?.[1]);
    assert.ok(resumedAt > 0 && resumedAt <= 150_000, `resumed at ${origin.requests[1]?.range}`);
    assert.equal(origin.requests[1]?.status, 206);
    assert.equal(done.progress.hasRestarted, false);
    // Every request went through a tunnel of its own (the stalled one is never reused); the proxy saw
    // CONNECTs only.
    const tunnels = proxy.requests.filter((r) => r.target === new URL(origin.url).host);
    assert.ok(tunnels.length >= 2, JSON.stringify(tunnels));
    assert.ok(
      tunnels.every((r) => r.kind === 'connect' && r.status === 200),
      JSON.stringify(tunnels),
    );
  } finally {
    await h.close();
    await origin.close();
  }
});
