import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, afterEach, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isProcessRunning } from '../../src/core/process.ts';
import { BackgroundUploader } from '../../src/index.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { type NodeChild, spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

/**
 * Stream uploads (createUploadFromStreamAsync): only real streams are accepted, and a spool file lives
 * no longer than what owns it — an unstarted upload's app, or a stored upload. Real app processes and
 * real transfer host processes (killed with SIGKILL where a crash is the point).
 */

const SPOOL_APP = fileURLToPath(new URL('../scripts/spool-app.ts', import.meta.url));

let temp: TempDir;
let server: UploadServer;
let apiHome: ApiHome | undefined;
const hostHomes: string[] = [];
const apps: NodeChild[] = [];

before(async () => {
  temp = await makeTempDir('bt-stream-spools-');
  server = await startUploadServer();
  server.route('/hang', () => ({ hang: true }));
});

afterEach(async () => {
  await apiHome?.cleanup();
  apiHome = undefined;
});

after(async () => {
  for (const home of hostHomes) await stopHost(home).catch(() => false);
  for (const app of apps) app.kill('SIGKILL');
  await Promise.all(apps.map((app) => app.exited));
  await server.close();
  await temp.cleanup();
});

function spoolNames(home: string): string[] {
  const dir = join(home, 'spool');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

function runApp(home: string, args: string[], mode: 'auto' | 'inproc' = 'auto'): NodeChild {
  const app = spawnNode([SPOOL_APP, ...args], {
    env: { BGTRANSFER_HOME: home, BGTRANSFER_HOST: mode, BGTRANSFER_APP_ID: 'spool-app' },
  });
  apps.push(app);
  return app;
}

async function report<T>(app: NodeChild, tag: string): Promise<T> {
  const line = await app.waitForLine(new RegExp(`^${tag} `), 30_000);
  return JSON.parse(line.slice(tag.length + 1)) as T;
}

/** Starts the host from this process, so that it is this process's child and is reaped when it ends. */
async function startHost(name: string): Promise<{ home: string; pid: number }> {
  const home = join(temp.path, name);
  if (!hostHomes.includes(home)) hostHomes.push(home);
  const port = new SocketPort(home);
  try {
    return { home, pid: (await port.status('spool-test')).pid };
  } finally {
    await port.close();
  }
}

test('createUploadFromStreamAsync refuses a path string, a Buffer or a plain object (BT_ERR_INVALID_ARGUMENT), spooling nothing', async () => {
  apiHome = await useApiHome({}, 'stream-args');
  const uploader = new BackgroundUploader();
  const notStreams: unknown[] = ['/some/path/to/a/file.bin', Buffer.from('bytes'), { data: 'x' }, null, 42];
  for (const value of notStreams) {
    await assert.rejects(
      uploader.createUploadFromStreamAsync(`${server.url}/args`, value as NodeJS.ReadableStream),
      (error: { code?: string; message?: string }) => {
        assert.equal(error.code, 'BT_ERR_INVALID_ARGUMENT', `for ${String(value)}`);
        assert.match(error.message ?? '', /Node Readable or a web ReadableStream/);
        return true;
      },
    );
  }
  assert.deepEqual(spoolNames(apiHome.home), [], 'nothing was spooled');
  // A real stream still works, from the same uploader.
  const operation = await uploader.createUploadFromStreamAsync(`${server.url}/args`, Readable.from(['ok']));
  assert.equal(operation.progress.totalBytesToSend, 2);
});

test('an app that exits without starting its stream upload leaves no spool file behind', async () => {
  const { home } = await startHost('exit-unstarted');
  const app = runApp(home, ['create', `${server.url}/never`]);
  const created = await report<{ spools: string[] }>(app, 'CREATED');
  assert.equal(created.spools.length, 1, 'the spool existed while the app held the upload');
  await app.exited;
  await waitFor('the host to remove the spool of the exited app', () => spoolNames(home).length === 0, 20_000);
  assert.deepEqual(
    server.requests.filter((request) => request.url === '/never'),
    [],
  );
});

test('after a host crash, the next host removes spools nobody owns and keeps the ones stored uploads need', async () => {
  const first = await startHost('host-crash');
  const { home } = first;
  // A stored, paused stream upload: its spool must survive every restart until the upload ends.
  const pausedApp = runApp(home, ['paused', `${server.url}/hang`]);
  const paused = await report<{ guid: string; spools: string[] }>(pausedApp, 'PAUSED');
  assert.equal(paused.spools.length, 1);
  await pausedApp.exited;
  // An app holding an unstarted stream upload when the host is killed: nobody can release it then.
  const holder = runApp(home, ['create-wait', `${server.url}/never`]);
  const held = await report<{ spools: string[] }>(holder, 'CREATED');
  assert.equal(held.spools.length, 2);
  const orphan = held.spools.find((name) => !paused.spools.includes(name));
  assert.ok(orphan);
  process.kill(first.pid, 'SIGKILL');
  await waitFor('the killed host to be gone', () => !isProcessRunning(first.pid), 20_000);
  holder.kill('SIGKILL');
  await holder.exited;
  // Files that are not spools the engine named are not the engine's to remove.
  const stranger = join(home, 'spool', 'notes.txt');
  mkdirSync(join(home, 'spool'), { recursive: true });
  writeFileSync(stranger, 'mine');
  const leftover = `stream-${randomUUID()}.spool`;
  writeFileSync(join(home, 'spool', leftover), 'from an older host');
  assert.deepEqual(spoolNames(home), [...paused.spools, orphan, leftover, 'notes.txt'].sort());

  const second = await startHost('host-crash');
  assert.notEqual(second.pid, first.pid);
  assert.deepEqual(spoolNames(home), [...paused.spools, 'notes.txt'].sort());
});

test('in-process: an app that exits without starting leaves a spool only until the next process opens the engine', async () => {
  const home = join(temp.path, 'inproc-exit');
  const creator = runApp(home, ['create', `${server.url}/never`], 'inproc');
  const created = await report<{ spools: string[] }>(creator, 'CREATED');
  assert.equal(created.spools.length, 1);
  await creator.exited;
  // process.exit ran no cleanup: the file is still there, owned by nobody.
  assert.deepEqual(spoolNames(home), created.spools);
  const next = runApp(home, ['list'], 'inproc');
  const listed = await report<{ uploads: number; spools: string[] }>(next, 'LISTED');
  assert.deepEqual(listed, { uploads: 0, spools: [] });
  assert.equal((await next.exited).code, 0);
});
