import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { currentAppId, getPort } from '../../src/api/port-provider.ts';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import type { OperationSpec } from '../../src/core/snapshot.ts';
import { BackgroundDownloader, BackgroundTransferCostPolicy, BackgroundTransferPriority } from '../../src/index.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';

/** Bad download input gets a coded error and stores nothing, from the API and from a raw client. */
let home: ApiHome | undefined;
afterEach(async () => {
  await home?.cleanup();
  home = undefined;
});

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return 'no error';
}

test('createDownload refuses a missing directory, a directory as result, a scheme other than http(s)/ftp(s), and an FTP download with a method or a request body', async () => {
  home = await useApiHome({}, 'download-bad-input');
  const downloader = new BackgroundDownloader();
  mkdirSync(join(home.dir, 'a-directory'));
  assert.equal(
    codeOf(() => downloader.createDownload('http://127.0.0.1:9/x', join(home?.dir ?? '', 'missing', 'x.bin'))),
    'BT_ERR_INVALID_ARGUMENT',
  );
  assert.equal(
    codeOf(() => downloader.createDownload('http://127.0.0.1:9/x', join(home?.dir ?? '', 'a-directory'))),
    'BT_ERR_NOT_A_FILE',
  );
  assert.equal(
    codeOf(() => downloader.createDownload('gopher://127.0.0.1/x', join(home?.dir ?? '', 'x.bin'))),
    'BT_ERR_UNSUPPORTED_SCHEME',
  );
  const requestBody = join(home.dir, 'request-body.txt');
  writeFileSync(requestBody, 'q=1');
  assert.equal(
    codeOf(() => downloader.createDownload('ftp://127.0.0.1/x', join(home?.dir ?? '', 'x.bin'), requestBody)),
    'BT_ERR_INVALID_ARGUMENT',
  );
  downloader.method = 'POST';
  assert.equal(
    codeOf(() => downloader.createDownload('ftps://127.0.0.1/x', join(home?.dir ?? '', 'x.bin'))),
    'BT_ERR_INVALID_METHOD',
  );
  assert.equal((await BackgroundDownloader.getCurrentDownloadsAsync()).length, 0);
});

test('a raw start is checked by the host: relative or dotted result paths and upload-only bodies are refused', async () => {
  home = await useApiHome({}, 'download-bad-raw');
  const port = await getPort();
  const spec = (overrides: Partial<OperationSpec>): OperationSpec => ({
    guid: `raw-${Math.random().toString(16).slice(2)}`,
    appId: currentAppId(),
    method: 'GET',
    requestedUri: 'http://127.0.0.1:9/x',
    sourcePath: null,
    headers: [],
    costPolicy: BackgroundTransferCostPolicy.default,
    priority: BackgroundTransferPriority.default,
    group: null,
    transferGroup: null,
    extras: { ...DEFAULT_REQUEST_EXTRAS, body: { kind: 'none' } },
    download: { resultPath: join(home?.dir ?? '', 'ok.bin') },
    ...overrides,
  });
  const refused = async (overrides: Partial<OperationSpec>): Promise<string> =>
    port.call('start', currentAppId(), { spec: spec(overrides) }).then(
      () => 'stored',
      (error: { code?: string }) => error.code ?? 'uncoded',
    );
  assert.equal(await refused({ download: { resultPath: 'relative.bin' } }), 'BT_ERR_INVALID_ARGUMENT');
  assert.equal(await refused({ download: { resultPath: `${home.dir}/../escape.bin` } }), 'BT_ERR_INVALID_ARGUMENT');
  assert.equal(await refused({ requestedUri: 'gopher://127.0.0.1/x' }), 'BT_ERR_UNSUPPORTED_SCHEME');
  assert.equal(await refused({ requestedUri: 'ftp://127.0.0.1/x', method: 'DELE' }), 'BT_ERR_INVALID_METHOD');
  const withBody = { ...DEFAULT_REQUEST_EXTRAS, body: { kind: 'file' as const } };
  assert.equal(
    await refused({ requestedUri: 'ftp://127.0.0.1/x', sourcePath: '/etc/hostname', extras: withBody }),
    'BT_ERR_INVALID_ARGUMENT',
  );
  // An upload needs a body: "none" is a download's.
  const { download: _download, ...upload } = spec({});
  assert.equal(
    await port.call('start', currentAppId(), { spec: upload }).then(
      () => 'stored',
      (error: { code?: string }) => error.code ?? 'uncoded',
    ),
    'BT_ERR_INVALID_ARGUMENT',
  );
  assert.equal((await port.call('list', currentAppId(), { filter: { kind: 'all' } })).length, 0, 'nothing stored');
});
