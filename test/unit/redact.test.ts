import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { TransferError } from '../../src/core/errors.ts';
import { baseLoggerOptions } from '../../src/core/logger.ts';
import { isSecretHeaderName, isSecretParamName, redactHeaders, redactText, redactUrl } from '../../src/core/redact.ts';
import { splitUserinfo, withUserinfoAsCredential } from '../../src/core/url-credentials.ts';

/** The one redaction of core/redact.ts, and the userinfo split of core/url-credentials.ts. */

describe('redactUrl', () => {
  test('masks userinfo and keeps host, port and path', () => {
    assert.equal(redactUrl('http://alice:s3cret@example.com:8080/up/a.bin'), 'http://***@example.com:8080/up/a.bin');
    assert.equal(redactUrl('ftp://bob@ftp.example.com/x'), 'ftp://***@ftp.example.com/x');
    assert.equal(redactUrl(new URL('https://u:p@h.example/')), 'https://***@h.example/');
    // A raw @ in a password: parsers split at the last one, and so does the mask.
    assert.equal(redactUrl('http://u:p@ss@host/x'), 'http://***@host/x');
  });

  test('masks presigned and token query values and keeps the others', () => {
    const s3 =
      'https://bucket.s3.amazonaws.com/k.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F2026' +
      '&X-Amz-Date=20261206T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=FwoGZX' +
      '&X-Amz-Signature=0123abcd';
    assert.equal(
      redactUrl(s3),
      'https://bucket.s3.amazonaws.com/k.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***' +
        '&X-Amz-Date=20261206T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=***' +
        '&X-Amz-Signature=***',
    );
    assert.equal(
      redactUrl('https://st.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-12-07&sp=cw&sig=AbC%2Bd%3D'),
      'https://st.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-12-07&sp=cw&sig=***',
    );
    assert.equal(
      redactUrl('https://h/u?key=K1&part=2&api_key=K2&apiKey=K3'),
      'https://h/u?key=***&part=2&api_key=***&apiKey=***',
    );
    assert.equal(redactUrl('https://h/cb#access_token=T&state=s'), 'https://h/cb#access_token=***&state=s');
    assert.equal(
      redactUrl('https://h/u?X-Goog-Signature=ab&token=t&monkey=1'),
      'https://h/u?X-Goog-Signature=***&token=***&monkey=1',
    );
  });

  test('leaves URLs without secrets as they are', () => {
    for (const url of ['https://example.com/a/b?x=1&y=2', 'http://127.0.0.1:1234/', 'ftp://h/p/f.bin']) {
      assert.equal(redactUrl(url), url);
    }
  });
});

describe('redactText', () => {
  test('masks secrets in URLs anywhere in prose, JSON and paths', () => {
    assert.equal(
      redactText('the server answered 403 for PUT https://a:b@h/x?sig=S (see http://h/y?ok=1).'),
      'the server answered 403 for PUT https://***@h/x?sig=*** (see http://h/y?ok=1).',
    );
    assert.equal(
      redactText('{"msg":"PATCH /files/1?token=T failed","url":"http://u:p@h/"}'),
      '{"msg":"PATCH /files/1?token=*** failed","url":"http://***@h/"}',
    );
  });

  test('masks the userinfo of a URL that follows another one with no slash between them', () => {
    // A list of proxies or mirrors: the first URL's authority runs up to the second one's `//`.
    assert.equal(
      redactText('proxies=http://proxy:3128,https://u:pw@h/ and ftp://a.b;ftp://c:d@e/f'),
      'proxies=http://proxy:3128,https://***@h/ and ftp://a.b;ftp://***@e/f',
    );
    assert.equal(redactText('http://u:p@ss@host/x http://host'), 'http://***@host/x http://host');
  });

  test('masks credential header values written out as text', () => {
    assert.equal(redactText('Authorization: Basic YWxpY2U6czNjcmV0'), 'Authorization: ***');
    assert.equal(redactText('{"cookie":"sid=abc","x":1}'), '{"cookie":"***","x":1}');
    assert.equal(redactText('proxy-authorization: Basic Zm9v'), 'proxy-authorization: ***');
  });

  test('a TransferError never carries a secret in its message, also when it comes back from JSON', () => {
    const error = new TransferError('BT_ERR_HTTP_STATUS', 'the server answered 403 for PUT https://u:pw@h/x?sig=S', {
      httpStatus: 403,
    });
    assert.equal(error.message, 'the server answered 403 for PUT https://***@h/x?sig=***');
    const stored = { code: 'BT_ERR_NETWORK' as const, message: 'failed: http://u:pw@h/x' };
    assert.equal(TransferError.fromJSON(stored).message, 'failed: http://***@h/x');
  });
});

describe('secret names', () => {
  test('query parameter names', () => {
    for (const name of [
      'sig',
      'X-Amz-Signature',
      'X-Amz-Credential',
      'access_token',
      'api_key',
      'key',
      'code',
      'password',
    ]) {
      assert.equal(isSecretParamName(name), true, name);
    }
    for (const name of ['monkey', 'keyword', 'X-Amz-Date', 'X-Amz-Expires', 'part', 'uploadId', 'sv', 'se']) {
      assert.equal(isSecretParamName(name), false, name);
    }
  });

  test('header names and values', () => {
    assert.equal(isSecretHeaderName('Authorization'), true);
    assert.equal(isSecretHeaderName('Set-Cookie'), true);
    assert.equal(isSecretHeaderName('X-Upload-Token'), true);
    assert.equal(isSecretHeaderName('Content-Type'), false);
    assert.deepEqual(
      redactHeaders([
        ['Set-Cookie', 'session=abc; HttpOnly'],
        ['Location', 'https://h/x?X-Amz-Signature=abc'],
        ['Content-Length', '3'],
      ]),
      [
        ['Set-Cookie', '***'],
        ['Location', 'https://h/x?X-Amz-Signature=***'],
        ['Content-Length', '3'],
      ],
    );
  });
});

describe('userinfo as the server credential', () => {
  test('is taken out of the URI, decoded, unless the app set a credential', () => {
    assert.deepEqual(splitUserinfo('https://al%40ice:p%3Ass@h/x?y=1', null), {
      requestedUri: 'https://h/x?y=1',
      serverCredential: { userName: 'al@ice', password: 'p:ss' },
    });
    const own = { userName: 'app', password: 'given' };
    assert.deepEqual(splitUserinfo('https://u:p@h/', own), { requestedUri: 'https://h/', serverCredential: own });
    assert.deepEqual(splitUserinfo('https://h/', null), { requestedUri: 'https://h/', serverCredential: null });
  });

  test('an operation spec keeps everything else', () => {
    const spec = {
      guid: 'g',
      appId: 'a',
      method: 'PUT',
      requestedUri: 'ftp://u:p@h/f.bin',
      sourcePath: null,
      headers: [],
      costPolicy: 0,
      priority: 0,
      group: null,
      transferGroup: null,
    } as const;
    const stored = withUserinfoAsCredential({ ...spec, headers: [] });
    assert.equal(stored.requestedUri, 'ftp://h/f.bin');
    assert.deepEqual(stored.extras?.serverCredential, { userName: 'u', password: 'p' });
    assert.equal(stored.method, 'PUT');
  });
});

describe('log lines', () => {
  test('are redacted as a whole: messages, fields, and the causes of a logged error', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const log = pino(baseLoggerOptions('test', 'info'), sink);
    const cause = new Error('PUT https://u:pw-LEAK@h/x?X-Amz-Signature=sig-LEAK failed');
    log.warn(
      { err: new Error('upload failed', { cause }), url: 'https://h/y?token=tok-LEAK' },
      'see https://a:b-LEAK@h/',
    );
    log.info({ headers: { authorization: 'Basic auth-LEAK' } }, 'sent');
    const text = lines.join('');
    assert.match(text, /X-Amz-Signature=\*\*\*/);
    assert.doesNotMatch(text, /LEAK/);
  });
});
