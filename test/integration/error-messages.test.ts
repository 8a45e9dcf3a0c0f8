import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { BackgroundTransferStatus as S } from '../../src/core/enums.ts';
import { TransferError } from '../../src/core/errors.ts';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { uploadFtp } from '../../src/protocols/ftp/ftp-upload.ts';
import { uploadHttp } from '../../src/protocols/http/http-upload.ts';
import type { ResumableUploadInput } from '../../src/protocols/http/resumable-types.ts';
import { uploadIetf } from '../../src/protocols/ietf/ietf-upload.ts';
import { uploadTus } from '../../src/protocols/tus/tus-upload.ts';
import { fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { startEngine } from '../helpers/engine-harness.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { findFreePort } from '../helpers/free-port.ts';
import { startIetfServer } from '../helpers/ietf-server.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startTusServer } from '../helpers/tus-server.ts';
import { startUploadServer } from '../helpers/upload-server.ts';

const MiB = 1024 * 1024;
/** Library words that must never reach a user: undici's and Node's names for what happened. */
const JARGON =
  /UND_ERR|Body Timeout Error|other side closed|\((E[A-Z]+|HPE_[A-Z_]+)\)|write ECONNRESET|read ECONNRESET/;

let dir: TempDir;
let file: RandomFile;
let dispatcher: Dispatcher;
const closers: Array<() => Promise<unknown>> = [];
let counter = 0;

before(async () => {
  dir = await makeTempDir('error-messages-');
  file = await writeRandomFile(dir.path, 'file.bin', 4 * MiB);
  dispatcher = createDispatcher({ connectTimeoutMs: 10_000, extraCaCertificates: [] });
});

after(async () => {
  await dispatcher.close();
  for (const close of closers.reverse()) await close();
  await dir.cleanup();
});

function common() {
  counter += 1;
  return {
    headers: [],
    body: fileBody(inspectSourceFile(file.path)),
    responseBodyPath: join(dir.path, `response-${counter}.bin`),
    dispatcher,
    signal: new AbortController().signal,
    responseTimeoutMs: 30_000,
    stallTimeoutMs: 0,
    onBytesSent() {},
    onResponse() {},
    onBytesReceived() {},
  };
}

function resumable(endpoint: string, uploadUrl: string | null): ResumableUploadInput {
  return {
    ...common(),
    endpoint: new URL(endpoint),
    session: uploadUrl === null ? null : { uploadUrl },
    onSession() {},
    onOffset() {},
  };
}

/** Each row: how to make the failure, and the message it must have (the URL as the test knows it). */
interface Row {
  name: string;
  /** The failure came from Node or undici (kept as `cause`), not from bgtransfer's own timers. */
  wrapsError: boolean;
  run(): Promise<{ error: TransferError; expected: RegExp }>;
}

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function failure(promise: Promise<unknown>): Promise<TransferError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TransferError, `not a TransferError: ${String(error)}`);
    return error;
  }
  assert.fail('the upload did not fail');
}

const rows: Row[] = [
  {
    name: 'http: PUT reset in the middle of the body',
    wrapsError: true,
    async run() {
      const server = await startUploadServer();
      closers.push(() => server.close());
      server.route('/cut', () => ({ status: 201 }), { resetAfterBytes: 256 * 1024 });
      const url = `${server.url}/cut`;
      const error = await failure(uploadHttp({ ...common(), url: new URL(url), method: 'PUT', maxRedirects: 5 }));
      return {
        error,
        expected: new RegExp(
          `^PUT ${escaped(url)}: the connection was reset by the server after [\\d.]+ (KiB|MiB) of the body$`,
        ),
      };
    },
  },
  {
    name: 'http: no response after the body (R48)',
    wrapsError: false,
    async run() {
      const server = await startUploadServer();
      closers.push(() => server.close());
      server.route('/hang', () => ({ hang: true }));
      const url = `${server.url}/hang`;
      const error = await failure(
        uploadHttp({ ...common(), responseTimeoutMs: 500, url: new URL(url), method: 'POST', maxRedirects: 5 }),
      );
      return {
        error,
        expected: new RegExp(
          `^POST ${escaped(url)}: no response within 500 ms after the whole body was sent \\(R48\\)$`,
        ),
      };
    },
  },
  {
    name: 'tus: the PATCH is reset, not the POST',
    wrapsError: true,
    async run() {
      const tus = await startTusServer();
      closers.push(() => tus.close());
      // POST and PATCH share the connection: the cut comes well after the small POST.
      const proxy = await startFaultProxy(tus.port, { defaultPlan: { resetAfterUpstreamBytes: 512 * 1024 } });
      closers.push(() => proxy.close());
      let uploadUrl = '';
      const input = { ...resumable(`${proxy.url}/files/`, null), onSession: (url: string) => (uploadUrl = url) };
      const error = await failure(uploadTus({ ...input, metadata: {} }));
      assert.notEqual(uploadUrl, '');
      return {
        error,
        expected: new RegExp(
          `^PATCH ${escaped(uploadUrl)}: the connection was reset by the server after [\\d.]+ (KiB|MiB) of the body$`,
        ),
      };
    },
  },
  {
    name: 'ietf: the PATCH of a resumed upload is reset',
    wrapsError: true,
    async run() {
      const ietf = await startIetfServer();
      closers.push(() => ietf.close());
      const proxy = await startFaultProxy(ietf.port);
      closers.push(() => proxy.close());
      // The creation is cut after its 104 named the upload resource; the resume's PATCH is cut too. The
      // creation's body goes at 1 MiB/s, so its 512 KiB take half a second: the 104 comes back long before
      // the cut even on a loaded machine (unthrottled, a fast client sent 512 KiB before the 104 arrived).
      proxy.nextConnection({ resetAfterUpstreamBytes: 512 * 1024, throttleBytesPerSecond: 1024 * 1024 });
      let uploadUrl = '';
      const create = { ...resumable(`${proxy.url}/target`, null), onSession: (url: string) => (uploadUrl = url) };
      await failure(uploadIetf({ ...create, method: 'PUT', maxRedirects: 5 }));
      assert.notEqual(uploadUrl, '');
      proxy.setDefaultPlan({ resetAfterUpstreamBytes: 512 * 1024 });
      const error = await failure(
        uploadIetf({ ...resumable(`${proxy.url}/target`, uploadUrl), method: 'PUT', maxRedirects: 5 }),
      );
      return {
        error,
        expected: new RegExp(
          `^PATCH ${escaped(uploadUrl)}: the connection was reset by the server after [\\d.]+ (KiB|MiB) of the body$`,
        ),
      };
    },
  },
  {
    name: 'ftp: nothing listens',
    wrapsError: true,
    async run() {
      const port = await findFreePort();
      const url = `ftp://127.0.0.1:${port}/file.bin`;
      const error = await failure(
        uploadFtp({
          url: new URL(url),
          method: 'STOR',
          credentials: null,
          body: fileBody(inspectSourceFile(file.path)),
          signal: new AbortController().signal,
          connectTimeoutMs: 10_000,
          stallTimeoutMs: 0,
          extraCaCertificates: [],
          resume: false,
          onOffset() {},
          onBytesSent() {},
        }),
      );
      return {
        error,
        expected: new RegExp(
          `^FTP connect to 127\\.0\\.0\\.1:${port} at ${escaped(url)}: the server refused the connection`,
        ),
      };
    },
  },
];

for (const row of rows) {
  test(`message names the request in plain words — ${row.name}`, async () => {
    const { error, expected } = await row.run();
    assert.match(error.message, expected);
    assert.doesNotMatch(error.message, JARGON);
    if (row.wrapsError) assert.notEqual(error.cause, undefined, 'the underlying error is kept as cause');
  });
}

test('message names the request in plain words — tus: a refused creation is the POST, not the app’s PUT', async () => {
  const tus = await startTusServer({ maxSize: 1024 });
  closers.push(() => tus.close());
  const harness = await startEngine({ maxAttempts: 1 });
  closers.push(() => harness.close());
  const endpoint = `${tus.endpoint}`;
  const { guid } = harness.engine.start(
    harness.spec({
      sourcePath: file.path,
      requestedUri: endpoint,
      method: 'PUT',
      extras: { ...DEFAULT_REQUEST_EXTRAS, resumeProtocol: 'tus' },
    }),
  );
  const final = await harness.waitFor(guid, (snapshot) => snapshot.progress.status === S.error, 30_000);
  assert.equal(final.error?.message, `POST ${endpoint}: the server answered 413`);
});
