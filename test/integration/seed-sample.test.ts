import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Windows } from 'bgtransfer/winrt';
import { type ApiHome, readAll, useApiHome } from '../helpers/api-home.ts';
import { makeTempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * The JavaScript sample of Microsoft's UploadOperation reference page (UploadFile and AttachUpload) runs
 * unchanged against `bgtransfer/winrt`, with `file` a StorageFile. The sample's server answers like
 * upload.aspx: "Filename is <name>" for a raw body with a Filename header.
 */
/** The reference page's sample, evaluated as written with `Windows` and its three handlers in scope. */
function loadSeedSample(handlers: { complete: Handler; error: Handler; progress: Handler }) {
  const code = readFileSync(fileURLToPath(new URL('../fixtures/seed-upload-sample.js', import.meta.url)), 'utf8');
  const factory = new Function(
    'Windows',
    'complete',
    'error',
    'progress',
    `${code}\nreturn { UploadFile, AttachUpload, get upload() { return upload; }, get promise() { return promise; } };`,
  );
  return factory(Windows, handlers.complete, handlers.error, handlers.progress) as SeedSample;
}

// biome-ignore lint/suspicious/noExplicitAny: the sample's globals are untyped JavaScript values.
type Handler = (value: any) => void;
interface SeedSample {
  UploadFile(uriString: string, file: unknown): void;
  AttachUpload(loadedUpload: unknown): void;
  // biome-ignore lint/suspicious/noExplicitAny: the sample's `upload` global, used as the sample uses it.
  readonly upload: any;
  readonly promise: { cancel(): void };
}

let server: UploadServer;
let home: ApiHome;

before(async () => {
  server = await startUploadServer();
  server.route('/upload.aspx', (request) => {
    const fileName = request.headers.find(([name]) => name.toLowerCase() === 'filename')?.[1] ?? '';
    return { status: 200, body: `Filename is ${fileName}<html>Hello</html>` };
  });
  home = await useApiHome();
});

after(async () => {
  await home.cleanup();
  await server.close();
});

test('the UploadOperation page sample UploadFile and AttachUpload run unchanged (A1, R4)', async () => {
  const files = await makeTempDir('seed-');
  const source = await writeRandomFile(files.path, 'photo.jpg', 3 * 1024 * 1024 + 7);
  const file = await Windows.Storage.StorageFile.getFileFromPathAsync(source.path);
  const events: string[] = [];
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  function complete(_op: unknown) {
    events.push('complete');
    resolveDone();
  }
  function error(err: { number: number }) {
    events.push(`error ${err.number}`);
    resolveDone();
  }
  function progress(op: { progress: { bytesSent: number } }) {
    events.push(`progress ${op.progress.bytesSent}`);
  }

  const sample = loadSeedSample({ complete, error, progress });
  const { UploadFile, AttachUpload } = sample;

  UploadFile(`${server.url}/upload.aspx`, file);
  await done;
  assert.equal(typeof sample.promise.cancel, 'function', 'the promise then() returns has cancel() (R59)');
  assert.equal(events.at(-1), 'complete');
  const received = server.requests.at(-1);
  assert.equal(received?.method, 'POST', 'R6: POST by default');
  assert.equal(received?.sha256, source.sha256);
  assert.ok(received?.headers.some(([name, value]) => name === 'Filename' && value === 'photo.jpg'));
  assert.equal(sample.upload.progress.bytesSent, source.size);
  assert.equal(sample.upload.progress.status, Windows.Networking.BackgroundTransfer.BackgroundTransferStatus.completed);
  assert.equal(sample.upload.getResponseInformation().statusCode, 200);
  assert.match(await readAll(sample.upload.getResultStreamAt(0)), /^Filename is photo\.jpg/);

  // AttachUpload with an enumerated operation: it has already completed, so complete runs again (R11).
  const uploads = await Windows.Networking.BackgroundTransfer.BackgroundUploader.getCurrentUploadsAsync();
  assert.equal(uploads.size, 1);
  const completedBefore = events.filter((e) => e === 'complete').length;
  const attached = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  AttachUpload(uploads[0]);
  await attached;
  assert.equal(events.filter((e) => e === 'complete').length, completedBefore + 1);
  assert.equal(sample.upload.guid, uploads[0]?.guid);
  await files.cleanup();
});
