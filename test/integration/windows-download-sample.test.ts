import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Windows } from 'bgtransfer/winrt';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { type DownloadServer, startDownloadServer } from '../helpers/download-server.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/**
 * The JavaScript example of Microsoft's BackgroundDownloader reference page (DownloadFile) runs as
 * written against `bgtransfer/winrt` (D1, D8, D17, R4). The server answers like the Windows sample's
 * download.aspx: a strong ETag, and ranges honoured only with a matching If-Range.
 *
 * The example creates its result file with `Windows.Storage.KnownFolders.picturesLibrary.createFileAsync`
 * (WinJS promise with `.done`), which bgtransfer/winrt does not offer: the test puts a pictures library
 * beside the real `Windows` object — a real folder (a temp dir) whose createFileAsync creates a real file
 * and hands back bgtransfer's own StorageFile. Everything under `Windows.Networking` is bgtransfer's.
 */

// biome-ignore lint/suspicious/noExplicitAny: the sample's globals are untyped JavaScript values.
type Handler = (value: any) => void;
interface DownloadSample {
  DownloadFile(uriString: string, fileName: string): void;
  // biome-ignore lint/suspicious/noExplicitAny: the sample's `download` global, used as the sample uses it.
  readonly download: any;
  readonly promise: { cancel(): void };
}

/** WinJS's promise shape for the one call the example makes on it: `.done(onComplete, onError)`. */
function winjsPromise<T>(promise: Promise<T>) {
  return {
    done(onComplete: (value: T) => void, onError: (error: unknown) => void) {
      promise.then(onComplete, onError);
    },
  };
}

/** A pictures library in `dir`: createFileAsync with generateUniqueName names a taken "x.png" "x (2).png". */
function picturesLibraryIn(dir: string) {
  return {
    path: dir,
    createFileAsync(desiredName: string, _option: number) {
      return winjsPromise(
        (async () => {
          const taken = new Set(await readdir(dir));
          const ext = extname(desiredName);
          const stem = desiredName.slice(0, desiredName.length - ext.length);
          let name = desiredName;
          for (let n = 2; taken.has(name); n += 1) name = `${stem} (${n})${ext}`;
          await writeFile(join(dir, name), '', { flag: 'wx' });
          return Windows.Storage.StorageFile.getFileFromPathAsync(join(dir, name));
        })(),
      );
    },
  };
}

function loadSample(
  windows: unknown,
  handlers: { complete: Handler; error: Handler; progress: Handler; displayException: Handler },
) {
  const code = readFileSync(fileURLToPath(new URL('../fixtures/windows-download-sample.js', import.meta.url)), 'utf8');
  const factory = new Function(
    'Windows',
    'complete',
    'error',
    'progress',
    'displayException',
    `${code}\nreturn { DownloadFile, get download() { return download; }, get promise() { return promise; } };`,
  );
  return factory(
    windows,
    handlers.complete,
    handlers.error,
    handlers.progress,
    handlers.displayException,
  ) as DownloadSample;
}

let server: DownloadServer;
let home: ApiHome;
let files: TempDir;

before(async () => {
  server = await startDownloadServer();
  home = await useApiHome();
  files = await makeTempDir('download-sample-');
});

after(async () => {
  await home.cleanup();
  await server.close();
  await files.cleanup();
});

test('the BackgroundDownloader page example DownloadFile runs unchanged (D1, D8, D17, R4)', async () => {
  const source = await writeRandomFile(files.path, 'served.bin', 5_000_000);
  await server.serve('/download.aspx', source.path, { throttleBytesPerSecond: 8 * 1024 * 1024 });
  const pictures = join(files.path, 'Pictures');
  await mkdir(pictures);
  await writeFile(join(pictures, 'picture.png'), 'an older picture');
  const windows = {
    ...Windows,
    Storage: {
      ...Windows.Storage,
      KnownFolders: { picturesLibrary: picturesLibraryIn(pictures) },
      CreationCollisionOption: { generateUniqueName: 0, replaceExisting: 1, failIfExists: 2, openIfExists: 3 },
    },
  };

  const events: string[] = [];
  const seen: Array<{ bytesReceived: number; totalBytesToReceive: number }> = [];
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const sample = loadSample(windows, {
    complete: () => {
      events.push('complete');
      resolveDone();
    },
    error: (err: { number?: number; message?: string }) => {
      events.push(`error ${err.number ?? err.message}`);
      resolveDone();
    },
    progress: (op: { progress: { bytesReceived: number; totalBytesToReceive: number } }) => {
      const { bytesReceived, totalBytesToReceive } = op.progress;
      seen.push({ bytesReceived, totalBytesToReceive });
    },
    displayException: (err: { message?: string }) => {
      events.push(`exception ${err.message}`);
      resolveDone();
    },
  });

  sample.DownloadFile(`${server.url}/download.aspx`, 'picture.png');
  await done;
  assert.deepEqual(events, ['complete']);
  assert.equal(typeof sample.promise.cancel, 'function', 'the promise then() returns has cancel() (R59)');

  const result = join(pictures, 'picture (2).png');
  const got = await readFile(result);
  assert.equal(createHash('sha256').update(got).digest('hex'), source.sha256, 'the result file is byte-exact');
  assert.equal(
    await readFile(join(pictures, 'picture.png'), 'utf8'),
    'an older picture',
    'the unique name kept the old file',
  );
  assert.deepEqual(
    (await readdir(pictures)).sort(),
    ['picture (2).png', 'picture.png'],
    'no partial file is left behind (D9)',
  );

  const BT = Windows.Networking.BackgroundTransfer;
  assert.equal(server.requests.at(-1)?.method, 'GET', 'D2: GET by default');
  assert.equal(sample.download.progress.status, BT.BackgroundTransferStatus.completed);
  assert.equal(sample.download.progress.bytesReceived, source.size);
  assert.equal(sample.download.progress.totalBytesToReceive, source.size);
  assert.equal(sample.download.getResponseInformation().statusCode, 200);
  assert.ok(seen.length > 0, 'progress was reported');
  for (const report of seen) assert.ok(report.bytesReceived <= source.size);

  // The next app start finds the download (finished ones too) and can attach to it (D37, R11).
  const downloads = await BT.BackgroundDownloader.getCurrentDownloadsAsync();
  assert.equal(downloads.size, 1);
  assert.equal(downloads[0]?.guid, sample.download.guid);
});
