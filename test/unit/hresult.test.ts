import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WebErrorStatus } from '../../src/core/enums.ts';
import { TransferError } from '../../src/core/errors.ts';
import { HRESULT, hresultForHttpStatus, toSigned, webErrorStatusForHresult } from '../../src/core/hresult.ts';

describe('webErrorStatusForHresult (BackgroundTransferError.getStatus, E5)', () => {
  const cases: ReadonlyArray<{ name: string; hresult: number; expected: WebErrorStatus }> = [
    { name: 'HTTP 404, signed', hresult: hresultForHttpStatus(404), expected: WebErrorStatus.notFound },
    { name: 'HTTP 404, unsigned 0x80190194', hresult: 0x80190194, expected: 404 },
    { name: 'HTTP 503', hresult: hresultForHttpStatus(503), expected: WebErrorStatus.serviceUnavailable },
    { name: 'HTTP 307', hresult: hresultForHttpStatus(307), expected: WebErrorStatus.temporaryRedirect },
    { name: 'WININET_E_CANNOT_CONNECT 0x80072EFD', hresult: 0x80072efd, expected: 14 },
    { name: 'WININET_E_CANNOT_CONNECT, signed', hresult: toSigned(0x80072efd), expected: WebErrorStatus.cannotConnect },
    { name: 'WININET_E_TIMEOUT', hresult: HRESULT.WININET_E_TIMEOUT, expected: WebErrorStatus.timeout },
    { name: 'E_INVALIDARG', hresult: HRESULT.E_INVALIDARG, expected: 0 },
    { name: 'ERROR_CANCELLED (a cancel is not a web error)', hresult: HRESULT.ERROR_CANCELLED, expected: 0 },
    // 999 is no HTTP status WebErrorStatus has a member for; nor is 429.
    { name: '0x80190000 + 999', hresult: 0x80190000 + 999, expected: 0 },
    { name: 'HTTP 429', hresult: hresultForHttpStatus(429), expected: WebErrorStatus.unknown },
    { name: 'HTTP_E_STATUS_BASE itself', hresult: HRESULT.HTTP_E_STATUS_BASE, expected: WebErrorStatus.unknown },
  ];
  for (const { name, hresult, expected } of cases) {
    test(`${name} → ${expected}`, () => {
      assert.equal(webErrorStatusForHresult(hresult), expected);
    });
  }
});

describe('toSigned', () => {
  test('gives the signed 32-bit form that WinRT JavaScript reports in err.number', () => {
    assert.equal(toSigned(0x80190194), -2145844844);
    assert.equal(toSigned(0x80190194) >>> 0, 0x80190194);
  });
});

describe('TransferError', () => {
  test('BT_ERR_HTTP_STATUS takes its HRESULT and webErrorStatus from the HTTP status', () => {
    const error = new TransferError('BT_ERR_HTTP_STATUS', 'x', { httpStatus: 404 });
    assert.equal(error.number, 0x80190194 | 0);
    assert.equal(error.webErrorStatus, 404);
    assert.equal(error.httpStatus, 404);
    assert.equal(error.code, 'BT_ERR_HTTP_STATUS');
  });

  test('a code without a status uses its fixed HRESULT', () => {
    const error = new TransferError('BT_ERR_CANNOT_CONNECT', 'refused');
    assert.equal(error.number, toSigned(HRESULT.WININET_E_CANNOT_CONNECT));
    assert.equal(error.webErrorStatus, WebErrorStatus.cannotConnect);
    assert.equal(error.retryable, true);
  });

  test('fromJSON(toJSON()) round-trips code, message, number, webErrorStatus and httpStatus', () => {
    const original = new TransferError('BT_ERR_HTTP_STATUS', 'the server answered 404', { httpStatus: 404 });
    const copy = TransferError.fromJSON(original.toJSON());
    assert.ok(copy instanceof TransferError);
    assert.equal(copy.code, original.code);
    assert.equal(copy.message, original.message);
    assert.equal(copy.number, original.number);
    assert.equal(copy.webErrorStatus, original.webErrorStatus);
    assert.equal(copy.httpStatus, original.httpStatus);
  });

  test('fromJSON survives a trip through JSON text (as over IPC or in the store)', () => {
    const original = new TransferError('BT_ERR_TIMEOUT', 'no response');
    const copy = TransferError.fromJSON(JSON.parse(JSON.stringify(original)));
    assert.equal(copy.code, 'BT_ERR_TIMEOUT');
    assert.equal(copy.number, original.number);
    assert.equal(copy.httpStatus, undefined);
  });
});
