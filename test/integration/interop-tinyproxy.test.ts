import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { uploadHttp } from '../../src/protocols/http/http-upload.ts';
import type { HttpUploadResult } from '../../src/protocols/http/http-upload-types.ts';
import { fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startTinyproxy, type Tinyproxy } from '../helpers/tinyproxy.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

const MiB = 1024 * 1024;
const PROXY_USER = { userName: 'alice', password: 'proxy-secret' };

let dir: TempDir;
let file: RandomFile;
let proxy: Tinyproxy;
let origin: UploadServer;
let counter = 0;

before(async () => {
  dir = await makeTempDir('interop-tinyproxy-');
  file = await writeRandomFile(dir.path, 'file.bin', 4 * MiB);
  proxy = await startTinyproxy({ basicAuth: PROXY_USER });
  origin = await startUploadServer();
});

after(async () => {
  await Promise.all([proxy?.stop(), origin?.close()]);
  await dir?.cleanup();
});

async function putThroughProxy(proxyCredential: typeof PROXY_USER | null): Promise<HttpUploadResult> {
  counter += 1;
  // A fresh dispatcher each time: every try opens a new connection to the proxy.
  const dispatcher = createDispatcher({
    connectTimeoutMs: 10_000,
    extraCaCertificates: [],
    proxy: { mode: 'url', url: proxy.url },
    proxyCredential,
  });
  try {
    return await uploadHttp({
      url: new URL(`${origin.url}/through-tinyproxy-${counter}`),
      method: 'PUT',
      headers: [],
      body: fileBody(inspectSourceFile(file.path)),
      responseBodyPath: join(dir.path, `response-${counter}.bin`),
      dispatcher,
      signal: new AbortController().signal,
      responseTimeoutMs: 30_000,
      maxRedirects: 5,
      onBytesSent() {},
      onResponse() {},
      onBytesReceived() {},
    });
  } finally {
    await dispatcher.close();
  }
}

test('tinyproxy answers 407 before reading the body and resets: every try ends with the 407, none as a reset', async () => {
  const outcomes: string[] = [];
  let last: HttpUploadResult | null = null;
  for (let index = 0; index < 20; index++) {
    const outcome = await putThroughProxy(null).then(
      (result) => {
        last = result;
        return String(result.response.statusCode);
      },
      (error: unknown) => (error as { code?: string }).code ?? String(error),
    );
    outcomes.push(outcome);
  }
  assert.deepEqual(
    outcomes.filter((outcome) => outcome !== '407'),
    [],
    `outcomes of 20 tries: ${outcomes.join(' ')}`,
  );
  // The proxy's own answer is the response: its Proxy-Authenticate names tinyproxy's realm.
  const headers = (last as HttpUploadResult | null)?.response.headers ?? [];
  const challenge = headers.find(([name]) => name.toLowerCase() === 'proxy-authenticate')?.[1];
  assert.equal(challenge, 'Basic realm="Tinyproxy"');
});

test('with the proxy credential the same upload goes through tinyproxy byte-exact', async () => {
  const result = await putThroughProxy(PROXY_USER);
  assert.equal(result.response.statusCode, 201);
  const received = JSON.parse(await readFile(join(dir.path, `response-${counter}.bin`), 'utf8')) as {
    sha256: string;
    bytes: number;
  };
  assert.deepEqual(received, { sha256: file.sha256, bytes: file.size });
});
