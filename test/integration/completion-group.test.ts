import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { BackgroundTransferStatus } from '../../src/index.ts';
import { hostStatus, stopHost } from '../../src/ipc/host-control.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { deferred } from '../helpers/deferred.ts';
import { spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

/**
 * Completion groups (R78–R83) end to end: an app process creates a BackgroundTransferCompletionGroup
 * whose task is a node script (test/scripts/completion-task.ts), starts three uploads through the
 * transfer host (one gets a 500), enables the group and exits while they still run. The host runs the
 * task once they all ended — after the app is gone — with the results on standard input.
 */

const APP = fileURLToPath(new URL('../scripts/completion-app.ts', import.meta.url));
const APP_ID = 'completion-app';

let temp: TempDir;
let server: UploadServer;
let source: RandomFile;
const homes: string[] = [];

before(async () => {
  temp = await makeTempDir('bgtransfer-completion-');
  server = await startUploadServer();
  source = await writeRandomFile(temp.path, 'source.bin', 256 * 1024 + 3);
});
after(async () => {
  for (const home of homes) await stopHost(home).catch(() => false);
  await server.close();
  await temp.cleanup();
});

/** A home with config.json, and its host started by this process (so this process reaps it). */
async function startHostFor(name: string, config: Record<string, unknown>): Promise<string> {
  const home = join(temp.path, name);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(join(home, 'config.json'), JSON.stringify(config));
  homes.push(home);
  const port = new SocketPort(home);
  await port.status(APP_ID);
  await port.close();
  return home;
}

interface TaskRun {
  group: string | null;
  details: {
    group: string;
    uploads: Array<{ guid: string; status: number; statusCode: number | null; error: string | null }>;
  };
  pid: number;
  atMs: number;
}

function taskRuns(path: string): TaskRun[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as TaskRun);
}

test('the host runs the task once, after the app exited, when all three uploads ended (2 completed, 1 error) (R78–R82)', async () => {
  const home = await startHostFor('group', { retryBaseDelayMs: 20, maxAttempts: 2 });
  const base = `${server.url}/cg`;
  const appGone = deferred();
  const reply = async (request: { method: string }, status: number) => {
    if (request.method === 'PUT') await appGone.promise;
    return { status, body: status === 201 ? 'stored' : 'broken' };
  };
  server.route('/cg/ok1', (request) => reply(request, 201));
  server.route('/cg/ok2', (request) => reply(request, 201));
  server.route('/cg/fail', (request) => reply(request, 500));
  server.route('/cg/not-enabled', () => ({ status: 201, body: 'stored' }));
  const taskOut = join(temp.path, 'task-out.jsonl');
  const unusedOut = join(temp.path, 'unused-task-out.jsonl');

  const app = spawnNode([APP, base, source.path, taskOut, unusedOut], {
    env: { BGTRANSFER_HOME: home, BGTRANSFER_HOST: 'auto', BGTRANSFER_APP_ID: APP_ID },
  });
  const line = await app.waitForLine(/^ENABLED /, 30_000);
  const report = JSON.parse(line.slice('ENABLED '.length)) as {
    group: string;
    guids: { ok1: string; ok2: string; fail: string };
    notEnabledGuid: string;
    enabledBefore: boolean;
    enabledAfter: boolean;
    secondEnable: string;
    uploadAfterEnable: string;
  };
  assert.deepEqual(await app.exited, { code: 0, signal: null });
  assert.equal(report.enabledBefore, false);
  assert.equal(report.enabledAfter, true);
  assert.equal(report.secondEnable, 'BT_ERR_ILLEGAL_STATE', 'R80: a second enable() throws');
  assert.equal(report.uploadAfterEnable, 'BT_ERR_ILLEGAL_STATE', 'R80: no upload joins an enabled group');

  // The app is gone and the uploads still run: the task must not have run yet.
  const status = await hostStatus(home, { appId: APP_ID });
  assert.ok(status, 'the host outlives the app');
  assert.deepEqual(taskRuns(taskOut), []);
  appGone.resolve();

  const [run] = await waitFor(
    'the completion task to run',
    () => {
      const runs = taskRuns(taskOut);
      return runs.length > 0 ? runs : undefined;
    },
    30_000,
  );
  assert.ok(run);
  assert.equal(run.group, report.group, 'BGTRANSFER_COMPLETION_GROUP is the group id');
  assert.equal(run.details.group, report.group);
  const byGuid = new Map(run.details.uploads.map((upload) => [upload.guid, upload]));
  assert.equal(run.details.uploads.length, 3, 'exactly the three members (not the upload of the other group)');
  assert.deepEqual(byGuid.get(report.guids.ok1), {
    guid: report.guids.ok1,
    status: BackgroundTransferStatus.completed,
    statusCode: 201,
    error: null,
  });
  assert.deepEqual(byGuid.get(report.guids.ok2), {
    guid: report.guids.ok2,
    status: BackgroundTransferStatus.completed,
    statusCode: 201,
    error: null,
  });
  assert.deepEqual(byGuid.get(report.guids.fail), {
    guid: report.guids.fail,
    status: BackgroundTransferStatus.error,
    statusCode: 500,
    error: 'BT_ERR_HTTP_STATUS',
  });
  // R79: it ran after every member ended — the last PUT was answered before the task started.
  const puts = server.requests.filter((request) => request.url.startsWith('/cg/') && request.method === 'PUT');
  assert.equal(puts.filter((request) => request.url === '/cg/fail').length, 2, 'the 500 was retried (maxAttempts 2)');
  assert.ok(puts.filter((request) => request.url !== '/cg/not-enabled').every((request) => request.complete));

  // R81: single-use — not again later, and not after a host restart either.
  await sleep(1_000);
  assert.equal(taskRuns(taskOut).length, 1, 'the task ran exactly once');
  assert.equal(await stopHost(home), true);
  const restarted = new SocketPort(home);
  try {
    await restarted.status(APP_ID);
    await sleep(1_000);
    assert.equal(taskRuns(taskOut).length, 1, 'a new host does not run a fired task again');
    // R80: a group that was never enabled never runs its task, although its upload completed.
    const notEnabled = await restarted.call('get', APP_ID, { guid: report.notEnabledGuid });
    assert.equal(notEnabled.progress.status, BackgroundTransferStatus.completed);
    assert.deepEqual(taskRuns(unusedOut), []);
  } finally {
    await restarted.close();
  }
  // The task's output goes to the host's tasks/<group>.log (it printed nothing).
  assert.equal(readFileSync(join(home, 'tasks', `${report.group}.log`), 'utf8'), '');
});
