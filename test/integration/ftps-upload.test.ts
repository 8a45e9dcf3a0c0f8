import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { uploadFtp } from '../../src/protocols/ftp/ftp-upload.ts';
import { startFtpSrv, type TestFtpServer } from '../helpers/ftp-servers.ts';
import {
  BIG_SIZE,
  big,
  bodyOf,
  inputFor,
  MiB,
  sha256File,
  transferErrorOf,
  useFtpFiles,
} from '../helpers/ftp-upload-kit.ts';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls-certs.ts';

/** uploadFtp over explicit FTPS (AUTH TLS) to ftp-srv with a certificate of the test CA. */

useFtpFiles();

describe('uploadFtp over explicit FTPS (ftp-srv with AUTH TLS)', () => {
  let certificates: TestCertificates;
  let server: TestFtpServer;
  before(async () => {
    certificates = await makeTestCertificates();
    server = await startFtpSrv({ tls: certificates.valid });
  });
  after(() => server?.stop());

  test('uploads 20 MiB byte-exact, trusting the test CA from extraCaCertificates', async (t) => {
    const url = server.url.replace(/^ftp:/, 'ftps:');
    const started = performance.now();
    const result = await uploadFtp(
      inputFor(`${url}secure/big.bin`, {
        body: bodyOf(big),
        credentials: server.login,
        extraCaCertificates: [certificates.caCert],
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    t.diagnostic(
      `ftp-srv FTPS: STOR ${BIG_SIZE} bytes in ${seconds.toFixed(3)} s = ${(BIG_SIZE / MiB / seconds).toFixed(0)} MiB/s`,
    );
    assert.equal(result.bytesStored, BIG_SIZE);
    assert.equal(result.sizeVerified, true);
    assert.equal(await sha256File(join(server.root, 'secure', 'big.bin')), big.sha256);
  });

  test('without the test CA the certificate is BT_ERR_CERT_UNTRUSTED', async () => {
    const url = server.url.replace(/^ftp:/, 'ftps:');
    const error = await transferErrorOf(uploadFtp(inputFor(`${url}untrusted.bin`, { credentials: server.login })));
    assert.equal(error.code, 'BT_ERR_CERT_UNTRUSTED');
    assert.equal(error.retryable, false);
  });
});
