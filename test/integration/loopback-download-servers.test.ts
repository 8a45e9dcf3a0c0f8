import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type DownloadServer, startDownloadServer } from '../helpers/download-server.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/**
 * The download test servers themselves, checked with plain node:http requests (no bgtransfer): what
 * each kind of server answers, byte for byte, and what its request counter says.
 */

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The connection broke before the body ended. */
  broken: boolean;
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = request(url, { method, headers, agent: false }, (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      let broken = false;
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('aborted', () => {
        broken = true;
      });
      res.on('error', () => {
        broken = true;
      });
      res.on('close', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          broken: broken || !res.complete,
        }),
      );
    });
    // Once the answer began, a reset shows as a broken answer rather than a failed request.
    req.on('error', (error) => {
      if (!responded) reject(error);
    });
    req.end();
  });
}

const sha = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('base64');

let server: DownloadServer;
let dir: TempDir;
let file: RandomFile;
let other: RandomFile;
let bytes: Buffer;
let otherBytes: Buffer;
const SIZE = 3 * 1024 * 1024 + 17;

before(async () => {
  dir = await makeTempDir('download-servers-');
  file = await writeRandomFile(dir.path, 'one.bin', SIZE);
  other = await writeRandomFile(dir.path, 'two.bin', SIZE + 1000);
  bytes = await readFile(file.path);
  otherBytes = await readFile(other.path);
  server = await startDownloadServer();
});

after(async () => {
  await server.close();
  await dir.cleanup();
});

describe('a server that honours Range and If-Range', () => {
  test('a plain GET gets the whole file with a strong ETag, Last-Modified and Accept-Ranges', async () => {
    await server.serve('/ranges.bin', file.path);
    const answer = await get(`${server.url}/ranges.bin`);
    assert.equal(answer.status, 200);
    assert.ok(answer.body.equals(bytes));
    assert.equal(answer.headers['content-length'], String(SIZE));
    assert.equal(answer.headers['accept-ranges'], 'bytes');
    assert.match(String(answer.headers.etag), /^"[^"]+"$/);
    assert.equal(answer.headers['last-modified'], server.validators('/ranges.bin').lastModified);
    const record = server.requests.at(-1);
    assert.equal(record?.bytesSent, SIZE);
    assert.equal(record?.complete, true);
  });

  test('a range with a matching If-Range (ETag or date) gets 206 and exactly those bytes', async () => {
    await server.serve('/resume.bin', file.path);
    const { etag, lastModified } = server.validators('/resume.bin');
    for (const validator of [etag, lastModified]) {
      const answer = await get(`${server.url}/resume.bin`, { Range: 'bytes=1000000-', 'If-Range': validator ?? '' });
      assert.equal(answer.status, 206);
      assert.equal(answer.headers['content-range'], `bytes 1000000-${SIZE - 1}/${SIZE}`);
      assert.ok(answer.body.equals(bytes.subarray(1000000)));
      assert.equal(server.requests.at(-1)?.start, 1000000);
    }
    const middle = await get(`${server.url}/resume.bin`, { Range: 'bytes=10-19' });
    assert.equal(middle.status, 206);
    assert.ok(middle.body.equals(bytes.subarray(10, 20)));
  });

  test('after replace() the old validators get the whole new representation with 200', async () => {
    await server.serve('/replaced.bin', file.path);
    const before = server.validators('/replaced.bin');
    await server.replace('/replaced.bin', other.path);
    const after = server.validators('/replaced.bin');
    assert.notEqual(after.etag, before.etag);
    assert.ok(Date.parse(after.lastModified ?? '') > Date.parse(before.lastModified ?? ''));
    for (const validator of [before.etag, before.lastModified]) {
      const answer = await get(`${server.url}/replaced.bin`, { Range: 'bytes=5-', 'If-Range': validator ?? '' });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.etag, after.etag);
      assert.ok(answer.body.equals(otherBytes));
    }
  });

  test('a range past the end gets 416 with bytes */size; HEAD gets headers only', async () => {
    await server.serve('/edges.bin', file.path);
    const past = await get(`${server.url}/edges.bin`, { Range: `bytes=${SIZE}-` });
    assert.equal(past.status, 416);
    assert.equal(past.headers['content-range'], `bytes */${SIZE}`);
    const head = await get(`${server.url}/edges.bin`, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(SIZE));
    assert.equal(head.body.length, 0);
  });
});

test('a server that ignores Range answers 200 with the whole body and no Accept-Ranges', async () => {
  await server.serve('/no-ranges.bin', file.path, { ignoreRanges: true });
  const answer = await get(`${server.url}/no-ranges.bin`, { Range: 'bytes=100-' });
  assert.equal(answer.status, 200);
  assert.equal(answer.headers['accept-ranges'], undefined);
  assert.equal(answer.headers['content-range'], undefined);
  assert.ok(answer.body.equals(bytes));
});

test('a representation that changes between requests: each request gets the next file and a new ETag', async () => {
  await server.serve('/changing.bin', [file.path, other.path]);
  const first = await get(`${server.url}/changing.bin`);
  const second = await get(`${server.url}/changing.bin`, {
    Range: 'bytes=100-',
    'If-Range': String(first.headers.etag),
  });
  const third = await get(`${server.url}/changing.bin`, {
    Range: 'bytes=100-',
    'If-Range': String(second.headers.etag),
  });
  assert.ok(first.body.equals(bytes));
  assert.equal(second.status, 200, 'the old ETag no longer matches');
  assert.notEqual(second.headers.etag, first.headers.etag);
  assert.ok(second.body.equals(otherBytes));
  assert.equal(third.status, 206, 'the last file stays, so its ETag matches');
  assert.ok(third.body.equals(otherBytes.subarray(100)));
  assert.deepEqual(
    server.requests
      .filter((r) => r.path === '/changing.bin')
      .map((r) => r.version - (server.requests.find((x) => x.path === '/changing.bin')?.version ?? 0)),
    [0, 1, 1],
  );
});

test('a wrong Content-Range: the header claims other offsets or another total, the body is the asked range', async () => {
  await server.serve('/shifted.bin', file.path, { contentRangeShift: 4096 });
  const shifted = await get(`${server.url}/shifted.bin`, { Range: 'bytes=1000-' });
  assert.equal(shifted.status, 206);
  assert.equal(shifted.headers['content-range'], `bytes 5096-${SIZE - 1 + 4096}/${SIZE}`);
  assert.ok(shifted.body.equals(bytes.subarray(1000)));
  await server.serve('/total.bin', file.path, { contentRangeTotalShift: -1 });
  const total = await get(`${server.url}/total.bin`, { Range: 'bytes=0-9' });
  assert.equal(total.headers['content-range'], `bytes 0-9/${SIZE - 1}`);
});

describe('digest headers', () => {
  test('right digests: Repr-Digest of the whole file, Content-Digest and Content-MD5 of the part sent', async () => {
    await server.serve('/digests.bin', file.path, {
      digests: [
        { header: 'Repr-Digest', algorithm: 'sha-256' },
        { header: 'Content-Digest', algorithm: 'sha-512' },
        { header: 'Content-MD5' },
      ],
    });
    const whole = await get(`${server.url}/digests.bin`);
    assert.equal(whole.headers['repr-digest'], `sha-256=:${sha('sha256', bytes)}:`);
    assert.equal(whole.headers['content-digest'], `sha-512=:${sha('sha512', bytes)}:`);
    assert.equal(whole.headers['content-md5'], sha('md5', bytes));
    const part = await get(`${server.url}/digests.bin`, { Range: 'bytes=2000000-' });
    assert.equal(part.status, 206);
    assert.equal(part.headers['repr-digest'], `sha-256=:${sha('sha256', bytes)}:`);
    assert.equal(part.headers['content-digest'], `sha-512=:${sha('sha512', bytes.subarray(2000000))}:`);
    assert.equal(part.headers['content-md5'], sha('md5', bytes.subarray(2000000)));
  });

  test('wrong digests differ from the right ones in their first byte only', async () => {
    await server.serve('/bad-digests.bin', file.path, {
      digests: [
        { header: 'Repr-Digest', algorithm: 'sha-256', wrong: true },
        { header: 'Content-MD5', wrong: true },
      ],
    });
    const answer = await get(`${server.url}/bad-digests.bin`);
    const repr = /^sha-256=:(.+):$/.exec(String(answer.headers['repr-digest']))?.[1] ?? '';
    const sent = Buffer.from(repr, 'base64');
    const right = createHash('sha256').update(bytes).digest();
    assert.equal(sent.length, right.length);
    assert.notEqual(sent[0], right[0]);
    assert.ok(sent.subarray(1).equals(right.subarray(1)));
    assert.notEqual(answer.headers['content-md5'], sha('md5', bytes));
    assert.ok(answer.body.equals(bytes), 'the body itself is right');
  });
});

describe('the request counter', () => {
  test('a cut answer ends early; resuming from what arrived fetches nothing twice', async () => {
    await server.serve('/cut.bin', file.path, { cutAfterBytes: 1024 * 1024 });
    const cut = await get(`${server.url}/cut.bin`);
    assert.equal(cut.broken, true);
    assert.ok(cut.body.length <= 1024 * 1024, `received ${cut.body.length} bytes`);
    assert.equal(server.requests.at(-1)?.aborted, true);
    assert.equal(server.requests.at(-1)?.bytesSent, 1024 * 1024);
    const rest = await get(`${server.url}/cut.bin`, { Range: `bytes=${cut.body.length}-` });
    assert.equal(rest.status, 206, 'only the first answer is cut');
    assert.ok(Buffer.concat([cut.body, rest.body]).equals(bytes));
    assert.equal(server.bytesSent('/cut.bin'), 1024 * 1024 + SIZE - cut.body.length);
    assert.equal(server.bytesSentTwice('/cut.bin'), 1024 * 1024 - cut.body.length);
  });

  test('bytesSentTwice counts overlapping spans once per repeat', async () => {
    await server.serve('/twice.bin', file.path);
    await get(`${server.url}/twice.bin`, { Range: 'bytes=0-999' });
    await get(`${server.url}/twice.bin`, { Range: 'bytes=500-1499' });
    await get(`${server.url}/twice.bin`, { Range: 'bytes=0-99' });
    assert.equal(server.bytesSent('/twice.bin'), 2100);
    assert.equal(server.bytesSentTwice('/twice.bin'), 600);
  });

  test('a throttled answer takes its time', async () => {
    await server.serve('/slow.bin', file.path, { throttleBytesPerSecond: 4 * 1024 * 1024 });
    const started = Date.now();
    const answer = await get(`${server.url}/slow.bin`, { Range: 'bytes=0-2097151' });
    assert.equal(answer.body.length, 2 * 1024 * 1024);
    assert.ok(Date.now() - started >= 400, `2 MiB at 4 MiB/s took ${Date.now() - started} ms`);
  });

  test('intercept answers instead of the file, and unknown paths get 404', async () => {
    await server.serve('/signed.bin', file.path, {
      intercept: (request) => (request.url.includes('expired') ? { status: 403, body: 'expired' } : undefined),
    });
    assert.equal((await get(`${server.url}/signed.bin?sig=expired`)).status, 403);
    assert.equal((await get(`${server.url}/signed.bin?sig=fresh`)).status, 200);
    assert.equal((await get(`${server.url}/nothing-here`)).status, 404);
  });
});
