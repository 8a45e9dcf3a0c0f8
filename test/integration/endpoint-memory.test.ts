import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { closeAsync } from '../../src/api/port-provider.ts';
import { BackgroundTransferStatus, BackgroundUploader } from '../../src/index.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { listenOnLoopback } from '../helpers/loopback.ts';
import { spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startTusServer, type TusTestServer } from '../helpers/tus-server.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * resumeProtocol "auto" learns once per endpoint what it speaks (OPTIONS) and remembers it in the
 * store: later uploads, a new process after SIGKILL included, send no probe until the entry expires or
 * the server answers unlike what was learned.
 */
const APP = fileURLToPath(new URL('../scripts/start-upload.ts', import.meta.url));
const FILE_BYTES = 4096;
let files: TempDir;
let home: ApiHome | undefined;
const closers: Array<() => Promise<void>> = [];

before(async () => {
  files = await makeTempDir('endpoint-memory-');
});
afterEach(async () => {
  await home?.cleanup();
  home = undefined;
  for (const close of closers.splice(0)) await close();
});
after(async () => {
  await files.cleanup();
});

async function tusServer(options: Parameters<typeof startTusServer>[0] = {}): Promise<TusTestServer> {
  const server = await startTusServer(options);
  closers.push(() => server.close());
  return server;
}

async function plainServer(): Promise<UploadServer> {
  const server = await startUploadServer();
  closers.push(() => server.close());
  return server;
}

/** Uploads `count` small files at once (POST), each to `urlOf(i)`; resolves with their final statuses. */
async function uploadAll(count: number, urlOf: (index: number) => string): Promise<number[]> {
  const uploader = new BackgroundUploader();
  uploader.method = 'POST';
  assert.equal(uploader.resumeProtocol, 'auto', 'auto is the default');
  const operations = [];
  for (let index = 0; index < count; index++) {
    const file = await writeRandomFile(files.path, `f-${Date.now()}-${index}.bin`, FILE_BYTES);
    operations.push(uploader.createUpload(urlOf(index), file.path));
  }
  const settled = await Promise.all(
    operations.map((operation) =>
      operation.startAsync().then(
        (op) => op.progress.status,
        () => operation.progress.status,
      ),
    ),
  );
  return settled;
}

function optionsCount(requests: ReadonlyArray<{ method: string }>): number {
  return requests.filter((request) => request.method === 'OPTIONS').length;
}

/** Makes every remembered endpoint expired, as 24 hours later would, with no engine open. */
async function expireEverything(homeDir: string): Promise<void> {
  await closeAsync();
  const db = new Database(join(homeDir, 'bgtransfer.db'));
  try {
    const changed = db.prepare('UPDATE endpointCapabilities SET expiresAtMs = 1').run().changes;
    assert.ok(changed > 0, 'something was remembered');
  } finally {
    db.close();
  }
}

/** A loopback front whose backend can be switched: "the server behind this URL changed". */
async function switchableFront(initialPort: number): Promise<{ url: string; switchTo(port: number): void }> {
  let backend = initialPort;
  const server: Server = createServer((req, res) => {
    const forward = httpRequest(
      { host: '127.0.0.1', port: backend, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  const { url } = await listenOnLoopback(server);
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url,
    switchTo(port: number) {
      backend = port;
    },
  };
}

test('50 uploads to one tus endpoint send exactly one OPTIONS; expired, it is probed once more', async () => {
  home = await useApiHome({}, 'endpoint-tus');
  const tus = await tusServer();
  const statuses = await uploadAll(50, () => tus.endpoint);
  assert.deepEqual(new Set(statuses), new Set([BackgroundTransferStatus.completed]));
  assert.equal(optionsCount(tus.requests), 1, 'concurrent uploads share one probe');
  assert.equal(tus.requests.filter((r) => r.method === 'POST').length, 50, 'every upload went by tus');

  await expireEverything(home.home);
  assert.deepEqual(await uploadAll(3, () => tus.endpoint), Array(3).fill(BackgroundTransferStatus.completed));
  assert.equal(optionsCount(tus.requests), 2, 'one new probe after the expiry');
});

test('50 uploads to a plain node:http server, one URL per file, send at most one OPTIONS', async () => {
  home = await useApiHome({}, 'endpoint-plain');
  const plain = await plainServer();
  const statuses = await uploadAll(50, (index) => `${plain.url}/u/${index}`);
  assert.deepEqual(new Set(statuses), new Set([BackgroundTransferStatus.completed]));
  assert.ok(optionsCount(plain.requests) <= 1, `${optionsCount(plain.requests)} OPTIONS`);
  assert.equal(plain.requests.filter((r) => r.method === 'POST' && r.complete).length, 50);
});

test('after the process is killed (SIGKILL) the next one still knows the endpoint: no new OPTIONS', async () => {
  home = await useApiHome({}, 'endpoint-kill');
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  // The creation is held until the process is dead: the probe's answer is all it learned.
  const tus = await tusServer({ beforeHandle: (request) => (request.method === 'POST' ? held : undefined) });
  const source = await writeRandomFile(files.path, 'killed.bin', FILE_BYTES);
  const child = spawnNode([APP, 'POST', tus.endpoint, source.path], {
    env: {
      BGTRANSFER_HOME: process.env.BGTRANSFER_HOME,
      BGTRANSFER_HOST: 'inproc',
      BGTRANSFER_APP_ID: process.env.BGTRANSFER_APP_ID,
    },
  });
  await waitUntil(() => tus.requests.some((r) => r.method === 'POST'), 20_000);
  child.kill('SIGKILL');
  assert.equal((await child.exited).signal, 'SIGKILL');
  release();
  assert.equal(optionsCount(tus.requests), 1);
  assert.deepEqual(await uploadAll(5, () => tus.endpoint), Array(5).fill(BackgroundTransferStatus.completed));
  assert.equal(optionsCount(tus.requests), 1, 'remembered across the SIGKILL');
});

test('a plain endpoint that becomes tus is forgotten at its first tus answer, relearned, and the upload succeeds', async () => {
  home = await useApiHome({}, 'endpoint-change');
  const plain = await plainServer();
  const tus = await tusServer();
  const front = await switchableFront(plain.port);
  assert.deepEqual(await uploadAll(3, () => `${front.url}/files/`), Array(3).fill(BackgroundTransferStatus.completed));
  assert.equal(optionsCount(plain.requests), 1);

  front.switchTo(tus.port);
  assert.deepEqual(await uploadAll(1, () => `${front.url}/files/`), [BackgroundTransferStatus.completed]);
  assert.equal(optionsCount(tus.requests), 1, 'relearned with one probe');
  const creations = tus.requests.filter(
    (r) => r.method === 'POST' && r.headers.some(([name]) => name.toLowerCase() === 'tus-resumable'),
  );
  assert.equal(creations.length, 1, 'then sent by tus');
  // Now known as tus: no further probe.
  assert.deepEqual(await uploadAll(2, () => `${front.url}/files/`), Array(2).fill(BackgroundTransferStatus.completed));
  assert.equal(optionsCount(tus.requests), 1);
});

test('a learned tus endpoint that 404s the creation is forgotten and probed again', async () => {
  home = await useApiHome({}, 'endpoint-gone');
  const tus = await tusServer();
  const plain = await plainServer();
  const front = await switchableFront(tus.port);
  assert.deepEqual(await uploadAll(1, () => `${front.url}/files/`), [BackgroundTransferStatus.completed]);
  assert.equal(optionsCount(tus.requests), 1);

  // The tus service is gone: a plain server that accepts uploads anywhere but has no /files/ (it
  // refuses the tus creation, which carries the body as application/offset+octet-stream or none).
  const isTusCreation = (request: { headers: Array<[string, string]> }) =>
    request.headers.some(([name]) => name.toLowerCase() === 'tus-resumable');
  plain.route('/files/', (request) =>
    request.method === 'POST' && isTusCreation(request) ? { status: 404 } : { status: 201 },
  );
  front.switchTo(plain.port);
  assert.deepEqual(await uploadAll(1, () => `${front.url}/files/`), [BackgroundTransferStatus.completed]);
  assert.equal(optionsCount(plain.requests), 1, 'probed again after the 404');
  const posts = plain.requests.filter((r) => r.method === 'POST');
  assert.deepEqual(
    posts.map((r) => isTusCreation(r)),
    [true, false],
    'the refused tus creation, then the plain upload',
  );
  assert.equal(posts.at(-1)?.bodyBytes, FILE_BYTES);
});

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
