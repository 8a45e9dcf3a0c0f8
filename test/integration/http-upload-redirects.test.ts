import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { test } from 'node:test';
import { WebErrorStatus } from '../../src/core/enums.ts';
import { uploadHttp } from '../../src/protocols/http/http-upload.ts';
import { dir, MiB, rejectsWith, server, small, uploadInput, useHttpUploadBed } from '../helpers/http-upload-kit.ts';
import { writeRandomFile } from '../helpers/temp-dir.ts';

/**
 * uploadHttp and redirects: 307/308 re-send the body to the new location (R44), 301/302/303 and loops
 * fail with coded errors, and credentials never follow a redirect to another origin.
 */

useHttpUploadBed();

for (const status of [307, 308]) {
  test(`${status} re-sends the whole body to the new location (R44 actualUri)`, async () => {
    const target = await server();
    target.route('/start', () => ({ redirect: '/final?q=2', status }));
    const { input, events } = uploadInput(`${target.url}/start`, small);
    const result = await uploadHttp(input);

    assert.equal(result.response.statusCode, 201);
    assert.equal(result.response.actualUri, `${target.url}/final?q=2`);
    assert.deepEqual(
      target.requests.map((request) => [request.url, request.method, request.sha256]),
      [
        ['/start', 'PUT', small.sha256],
        ['/final?q=2', 'PUT', small.sha256],
      ],
    );
    const restart = events.sent.indexOf(0);
    assert.ok(restart > 0, `bytesSent restarts at 0: ${events.sent.join(',')}`);
    assert.equal(events.sent[restart - 1], small.size);
    assert.equal(events.sent.at(-1), small.size);
  });
}

test('an answer before the body was read: a final status is returned, a 307 is followed', async () => {
  const file = await writeRandomFile(dir.path, 'early.bin', 16 * MiB);
  const target = await server({ throttleBytesPerSecond: 64 * MiB });
  target.route('/too-big', () => ({ status: 413, body: 'too big' }), { answerBeforeBody: true });
  target.route('/moved', () => ({ redirect: '/final' }), { answerBeforeBody: true });

  const { input: tooBig } = uploadInput(`${target.url}/too-big`, file, { responseTimeoutMs: 200 });
  const rejected = await uploadHttp(tooBig);
  assert.equal(rejected.response.statusCode, 413);
  assert.equal(await readFile(tooBig.responseBodyPath, 'utf8'), 'too big');

  const { input: moved } = uploadInput(`${target.url}/moved`, file);
  const result = await uploadHttp(moved);
  assert.equal(result.response.actualUri, `${target.url}/final`);
  assert.equal(target.requests.find((request) => request.url === '/final')?.sha256, file.sha256);
  await rm(file.path);
});

for (const status of [301, 302, 303]) {
  test(`${status} fails with BT_ERR_REDIRECT_NOT_ALLOWED and HRESULT 0x80190000 + ${status}`, async () => {
    const target = await server();
    target.route('/r', () => ({ redirect: '/elsewhere', status }));
    const { input } = uploadInput(`${target.url}/r`, small);
    const error = await rejectsWith(uploadHttp(input), 'BT_ERR_REDIRECT_NOT_ALLOWED', status);
    assert.equal(error.number, (0x80190000 + status) | 0);
    assert.equal(error.httpStatus, status);
    assert.equal(target.requests.length, 1, 'the redirect is not followed');
  });
}

test('a redirect loop fails with BT_ERR_TOO_MANY_REDIRECTS after maxRedirects', async () => {
  const target = await server();
  target.route('/loop', () => ({ redirect: '/loop' }));
  const { input } = uploadInput(`${target.url}/loop`, small, { maxRedirects: 3 });
  await rejectsWith(uploadHttp(input), 'BT_ERR_TOO_MANY_REDIRECTS', WebErrorStatus.redirectFailed);
  assert.equal(target.requests.length, 4);
});

test('credentials go to the same origin only: a cross-origin redirect drops Authorization and Cookie', async () => {
  const first = await server();
  const second = await server();
  first.route('/same', () => ({ redirect: '/cross' }));
  first.route('/cross', () => ({ redirect: `${second.url}/final` }));
  const headers: Array<[string, string]> = [
    ['Authorization', 'Bearer secret'],
    ['cookie', 'session=1'],
    ['PROXY-AUTHORIZATION', 'Basic eA=='],
    ['X-Keep', 'yes'],
  ];
  const { input } = uploadInput(`${first.url}/same`, small, { headers });
  const result = await uploadHttp(input);

  assert.equal(result.response.actualUri, `${second.url}/final`);
  const names = (request: { headers: Array<[string, string]> }) => request.headers.map(([name]) => name.toLowerCase());
  for (const request of first.requests) {
    assert.ok(names(request).includes('authorization'), 'same origin keeps Authorization');
    assert.ok(names(request).includes('cookie'), 'same origin keeps Cookie');
  }
  assert.equal(first.requests.length, 2);
  assert.equal(second.requests.length, 1);
  const crossNames = names(second.requests[0]!);
  for (const name of ['authorization', 'cookie', 'proxy-authorization']) assert.ok(!crossNames.includes(name), name);
  assert.ok(crossNames.includes('x-keep'));
  assert.equal(second.requests[0]?.sha256, small.sha256);
});
