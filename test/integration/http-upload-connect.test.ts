import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebErrorStatus } from '../../src/core/enums.ts';
import { type ErrorCode, TransferError } from '../../src/core/errors.ts';
import { uploadHttp } from '../../src/protocols/http/http-upload.ts';
import { mapNetworkError } from '../../src/protocols/http/network-errors.ts';
import {
  certs,
  dispatcher,
  plainDispatcher,
  rejectsWith,
  server,
  small,
  uploadInput,
  useHttpUploadBed,
} from '../helpers/http-upload-kit.ts';
import { startUploadServer } from '../helpers/upload-server.ts';

/**
 * uploadHttp connecting: a refused connection, HTTPS certificates (trusted by the extra CA, or each way
 * one is refused), an https → http redirect, and how network errors map to BT_ERR_* codes.
 */

useHttpUploadBed();

test('mapNetworkError: coded errors pass through, wrapped causes are unwrapped, the rest is BT_ERR_NETWORK', () => {
  const coded = new TransferError('BT_ERR_SOURCE_CHANGED', 'changed');
  assert.equal(mapNetworkError(coded), coded);
  assert.equal(mapNetworkError(new Error('fetch failed', { cause: coded })), coded);
  const withCode = (message: string, code: string, cause?: unknown) =>
    Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
  const cases: Array<[unknown, ErrorCode]> = [
    [withCode('wrapped', 'UND_ERR_SOCKET', withCode('read ECONNRESET', 'ECONNRESET')), 'BT_ERR_CONNECTION_RESET'],
    [withCode('other side closed', 'UND_ERR_SOCKET'), 'BT_ERR_CONNECTION_ABORTED'],
    [withCode('bad response', 'UND_ERR_SOCKET'), 'BT_ERR_INVALID_RESPONSE'],
    [new AggregateError([withCode('a', 'ECONNREFUSED'), withCode('b', 'ENETUNREACH')]), 'BT_ERR_CANNOT_CONNECT'],
    [withCode('getaddrinfo EAI_AGAIN x', 'EAI_AGAIN'), 'BT_ERR_HOST_NOT_RESOLVED'],
    [withCode('Connect Timeout Error', 'UND_ERR_CONNECT_TIMEOUT'), 'BT_ERR_TIMEOUT'],
    [withCode('Invalid header value char', 'HPE_INVALID_HEADER_TOKEN'), 'BT_ERR_INVALID_RESPONSE'],
    [withCode('certificate has expired', 'CERT_HAS_EXPIRED'), 'BT_ERR_CERT_EXPIRED'],
    [withCode('revoked', 'CERT_REVOKED'), 'BT_ERR_CERT_REVOKED'],
    [withCode('bad signature', 'CERT_SIGNATURE_FAILURE'), 'BT_ERR_CERT_INVALID'],
    [withCode('weird', 'ESOMETHING'), 'BT_ERR_NETWORK'],
    ['not even an error', 'BT_ERR_NETWORK'],
  ];
  for (const [error, code] of cases) {
    const mapped = mapNetworkError(error);
    assert.equal(mapped.code, code, String(error));
    assert.equal(mapped.cause, error);
  }
  assert.match(mapNetworkError(withCode('weird', 'ESOMETHING')).message, /ESOMETHING/);
});

test('connection refused → BT_ERR_CANNOT_CONNECT (webErrorStatus cannotConnect)', async () => {
  const closed = await startUploadServer();
  await closed.close();
  const { input } = uploadInput(`${closed.url}/x`, small);
  const error = await rejectsWith(uploadHttp(input), 'BT_ERR_CANNOT_CONNECT', WebErrorStatus.cannotConnect);
  // Plain words naming the request; Node's ECONNREFUSED stays in the cause.
  assert.equal(error.message, `PUT ${closed.url}/x: the server refused the connection (nothing listens on that port)`);
  assert.match(String((error.cause as { code?: string } | undefined)?.code ?? ''), /ECONNREFUSED|UND_ERR/);
});

test('HTTPS with a certificate from the extra CA uploads intact', async () => {
  const target = await server({ tls: certs.valid });
  const { input } = uploadInput(`${target.url}/tls`, small);
  const result = await uploadHttp(input);
  assert.equal(result.response.statusCode, 201);
  assert.equal(target.requests[0]?.sha256, small.sha256);
});

const certificateCases = [
  { name: 'an expired certificate', pair: 'expired', code: 'BT_ERR_CERT_EXPIRED', status: 2, trustCa: true },
  {
    name: 'a certificate for another name',
    pair: 'wrongName',
    code: 'BT_ERR_CERT_NAME_MISMATCH',
    status: 1,
    trustCa: true,
  },
  { name: 'a self-signed certificate', pair: 'selfSigned', code: 'BT_ERR_CERT_UNTRUSTED', status: 5, trustCa: true },
  {
    name: 'a certificate from a CA not given',
    pair: 'valid',
    code: 'BT_ERR_CERT_UNTRUSTED',
    status: 5,
    trustCa: false,
  },
] as const;

for (const { name, pair, code, status, trustCa } of certificateCases) {
  test(`HTTPS with ${name} → ${code}`, async () => {
    const target = await server({ tls: certs[pair] });
    const { input } = uploadInput(`${target.url}/tls`, small, { dispatcher: trustCa ? dispatcher : plainDispatcher });
    await rejectsWith(uploadHttp(input), code, status);
    assert.equal(target.requests.length, 0, 'no request reaches the server');
  });
}

test('an https → http redirect fails with BT_ERR_INSECURE_REDIRECT', async () => {
  const plain = await server();
  const secure = await server({ tls: certs.valid });
  secure.route('/down', () => ({ redirect: `${plain.url}/final` }));
  const { input } = uploadInput(`${secure.url}/down`, small);
  await rejectsWith(uploadHttp(input), 'BT_ERR_INSECURE_REDIRECT', WebErrorStatus.httpsToHttpOnRedirection);
  assert.equal(plain.requests.length, 0);
});
