import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { BackgroundTransferError, BackgroundUploader, WebErrorStatus } from '../../src/index.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls-certs.ts';
import { startUploadServer } from '../helpers/upload-server.ts';

/**
 * HTTPS with the system CAs plus extra CA certificates from config.json
 * (`extraCaCertificates`); certificate errors map to the matching WebErrorStatus.
 */
let certificates: TestCertificates;
let files: TempDir;
let caPath: string;
let home: ApiHome | undefined;

before(async () => {
  certificates = await makeTestCertificates();
  files = await makeTempDir('api-https-');
  caPath = join(files.path, 'test-ca.pem');
  await writeFile(caPath, certificates.caCert);
});
afterEach(async () => {
  await home?.cleanup();
  home = undefined;
});
after(() => files.cleanup());

async function uploadTo(keyPair: { key: string; cert: string }) {
  const server = await startUploadServer({ tls: keyPair });
  const source = await writeRandomFile(files.path, 'tls.bin', 200_000);
  const uploader = new BackgroundUploader();
  uploader.method = 'PUT';
  const operation = uploader.createUpload(`${server.url}/secure`, source.path);
  try {
    await operation.startAsync();
    return { operation, error: undefined, server, source };
  } catch (error) {
    return { operation, error: error as { code: string; number: number }, server, source };
  } finally {
    await server.close();
  }
}

test('HTTPS with the CA from extraCaCertificates uploads byte-exact', async () => {
  home = await useApiHome({ extraCaCertificates: [caPath] });
  const { error, server, source, operation } = await uploadTo(certificates.valid);
  assert.equal(error, undefined);
  assert.equal(server.requests.at(-1)?.sha256, source.sha256);
  assert.equal(operation.getResponseInformation()?.actualUri.schemeName, 'https');
});

const failures: Array<[string, keyof TestCertificates, boolean, string, number]> = [
  ['untrusted: the CA is not configured', 'valid', false, 'BT_ERR_CERT_UNTRUSTED', WebErrorStatus.certificateIsInvalid],
  ['expired', 'expired', true, 'BT_ERR_CERT_EXPIRED', WebErrorStatus.certificateExpired],
  ['wrong name', 'wrongName', true, 'BT_ERR_CERT_NAME_MISMATCH', WebErrorStatus.certificateCommonNameIsIncorrect],
  ['self-signed', 'selfSigned', true, 'BT_ERR_CERT_UNTRUSTED', WebErrorStatus.certificateIsInvalid],
];

for (const [name, which, trustCa, code, status] of failures) {
  test(`HTTPS certificate ${name} → ${code}, not retried, no response (R43)`, async () => {
    home = await useApiHome(trustCa ? { extraCaCertificates: [caPath] } : {});
    const { error, server, operation } = await uploadTo(certificates[which] as { key: string; cert: string });
    assert.equal(error?.code, code);
    assert.equal(BackgroundTransferError.getStatus(error?.number ?? 0), status);
    assert.equal(operation.getResponseInformation(), null);
    assert.equal(server.requests.length, 0, 'no request reached the server');
  });
}

test('an unreadable extraCaCertificates file is a config error naming the key', async () => {
  home = await useApiHome({ extraCaCertificates: [join(files.path, 'missing.pem')] });
  await assert.rejects(BackgroundUploader.getCurrentUploadsAsync(), {
    code: 'BT_ERR_CONFIG_INVALID',
    message: /extraCaCertificates/,
  });
});
