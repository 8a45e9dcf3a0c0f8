import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestHeaders } from '../../src/api/request-headers.ts';
import { Uri } from '../../src/api/uri.ts';
import { validateHeader, validateMethod, validateUri } from '../../src/api/validation.ts';
import { parseConfig } from '../../src/core/config.ts';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

test('Uri works with and without new, and exposes the WinRT members', () => {
  // The seed sample calls Windows.Foundation.Uri(uriString) without `new`.
  const called = Uri('http://example.test:8080/a/b?x=1');
  const constructed = new Uri('https://example.test/up');
  assert.equal(called.absoluteUri, 'http://example.test:8080/a/b?x=1');
  assert.equal(called.schemeName, 'http');
  assert.equal(called.host, 'example.test');
  assert.equal(called.port, 8080);
  assert.equal(called.path, '/a/b');
  assert.equal(called.query, '?x=1');
  assert.equal(constructed.port, 443);
});

test('Uri rejects a relative or malformed string with BT_ERR_INVALID_URI (E4)', () => {
  assert.equal(
    code(() => Uri('/relative/path')),
    'BT_ERR_INVALID_URI',
  );
  assert.equal(
    code(() => new Uri('not a uri')),
    'BT_ERR_INVALID_URI',
  );
});

test('upload URIs must be absolute http, https or ftp', () => {
  assert.equal(validateUri('http://127.0.0.1:1/x').href, 'http://127.0.0.1:1/x');
  assert.equal(validateUri(new URL('https://h/x')).protocol, 'https:');
  assert.equal(validateUri(new Uri('ftp://h/x')).protocol, 'ftp:');
  assert.equal(
    code(() => validateUri('file:///etc/passwd')),
    'BT_ERR_UNSUPPORTED_SCHEME',
  );
  assert.equal(
    code(() => validateUri('ws://h/x')),
    'BT_ERR_UNSUPPORTED_SCHEME',
  );
  assert.equal(
    code(() => validateUri('x/y')),
    'BT_ERR_INVALID_URI',
  );
  assert.equal(
    code(() => validateUri(42 as unknown as string)),
    'BT_ERR_INVALID_URI',
  );
});

test('header names must be tokens; values must not carry CR, LF or NUL (header injection)', () => {
  assert.deepEqual(validateHeader('X-Name', ' v '), ['X-Name', 'v']);
  assert.equal(
    code(() => validateHeader('X-Bad\r\nInjected', 'v')),
    'BT_ERR_INVALID_HEADER',
  );
  assert.equal(
    code(() => validateHeader('X', 'a\r\nInjected: 1')),
    'BT_ERR_INVALID_HEADER',
  );
  assert.equal(
    code(() => validateHeader('X', 'a\nb')),
    'BT_ERR_INVALID_HEADER',
  );
  assert.equal(
    code(() => validateHeader('X', 'a\0b')),
    'BT_ERR_INVALID_HEADER',
  );
  assert.equal(
    code(() => validateHeader('Bad Name', 'v')),
    'BT_ERR_INVALID_HEADER',
  );
  assert.equal(
    code(() => validateHeader('', 'v')),
    'BT_ERR_INVALID_HEADER',
  );
  assert.equal(
    code(() => validateHeader('X', 'snow ☃')),
    'BT_ERR_INVALID_HEADER',
  );
});

test('R63: setting a header twice joins the values with ", "; names match case-insensitively', () => {
  const headers = new RequestHeaders();
  headers.set('X-Tag', 'a');
  headers.set('x-tag', 'b');
  headers.set('Filename', 'f.bin');
  assert.deepEqual(headers.toArray(), [
    ['X-Tag', 'a, b'],
    ['Filename', 'f.bin'],
  ]);
  headers.remove('X-TAG');
  assert.deepEqual(headers.toArray(), [['Filename', 'f.bin']]);
});

test('methods must be HTTP tokens', () => {
  assert.equal(validateMethod('PUT'), 'PUT');
  assert.equal(validateMethod('MKCOL'), 'MKCOL');
  assert.equal(
    code(() => validateMethod('PU T')),
    'BT_ERR_INVALID_METHOD',
  );
  assert.equal(
    code(() => validateMethod('')),
    'BT_ERR_INVALID_METHOD',
  );
});

test('config.json: defaults, and an unknown key or bad value names the key', () => {
  const config = parseConfig({ maxAttempts: 5 });
  assert.equal(config.maxAttempts, 5);
  assert.equal(config.connectTimeoutMs, 300_000); // R47
  assert.equal(config.responseTimeoutMs, 120_000); // R48
  assert.throws(() => parseConfig({ maxAtempts: 5 }), { code: 'BT_ERR_CONFIG_INVALID', message: /maxAtempts/ });
  assert.throws(() => parseConfig({ metered: 'maybe' }), { code: 'BT_ERR_CONFIG_INVALID', message: /metered/ });
  assert.throws(() => parseConfig({ maxConcurrentTransfers: 0 }), {
    code: 'BT_ERR_CONFIG_INVALID',
    message: /maxConcurrentTransfers/,
  });
});
