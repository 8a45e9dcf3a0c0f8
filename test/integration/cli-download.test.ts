import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { describeRun, runBgtransfer } from '../helpers/cli-run.ts';
import { type DownloadServer, startDownloadServer } from '../helpers/download-server.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/**
 * `bgtransfer download URL FILE` as users run it (docs/api/cli.md): real child processes of
 * src/cli/main.ts against the download tests' node:http range server, each with its own
 * BGTRANSFER_HOME; in process and through the transfer host. And `list`, `watch`, `pause`, `resume`,
 * `cancel` and `response` showing downloads beside uploads.
 */

const bgtransfer = runBgtransfer;

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

const dir: TempDir = await makeTempDir('bgtransfer-cli-download-');
// 3 MiB at 3 MiB/s: about a second, so the plain output shows progress lines, not only the end.
const file: RandomFile = await writeRandomFile(dir.path, 'served.bin', 3 * 1024 * 1024);
const server: DownloadServer = await startDownloadServer();
await server.serve('/file.bin', file.path, { throttleBytesPerSecond: 3 * 1024 * 1024 });
await server.serve('/fast.bin', file.path);
await server.serve('/missing.bin', file.path, { intercept: () => ({ status: 404, body: 'no such file' }) });

after(async () => {
  await server.close();
  await dir.cleanup();
});

function homeEnv(name: string, host: 'inproc' | 'auto' = 'inproc'): Record<string, string> {
  return { BGTRANSFER_HOME: join(dir.path, `home-${name}`), BGTRANSFER_HOST: host };
}

describe('bgtransfer download in process (BGTRANSFER_HOST=inproc)', () => {
  const env = homeEnv('inproc');
  let guid = '';

  test('--help names download and its help comes from the shared options', async () => {
    const help = await bgtransfer(['--help'], env);
    assert.match(help.stdout.join('\n'), /^ {2}download\b/m, describeRun(help));
    const own = await bgtransfer(['download', '--help'], env);
    assert.equal(own.code, 0, describeRun(own));
    const text = own.stdout.join('\n');
    for (const option of ['--header', '--priority', '--group', '--cost-policy', '--detach', '--json']) {
      assert.ok(text.includes(option), `download --help lacks ${option}`);
    }
    assert.match(text, /BackgroundDownloadProgress/);
    assert.doesNotMatch(text, /--method/);
  });

  test('completes with exit 0 and plain progress lines; FILE is byte-exact and no partial file stays', async () => {
    const out = join(dir.path, 'inproc', 'plain.bin');
    await mkdir(join(dir.path, 'inproc'));
    const run = await bgtransfer(['download', `${server.url}/file.bin`, out], env);
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(await sha256Of(out), file.sha256);
    assert.deepEqual(await readdir(join(dir.path, 'inproc')), ['plain.bin']);
    const progressLines = run.stdout.filter((line) => line.startsWith('plain.bin  '));
    assert.ok(progressLines.length >= 2, describeRun(run));
    for (const line of progressLines) {
      assert.match(
        line,
        /^plain\.bin {2}\w+ {2}[\d.]+ [KMG]?i?B \/ [\d.]+ [KMG]?i?B \([\d.-]+%?\) {2}.+\/s {2}ETA \S+$/,
      );
    }
    assert.match(progressLines.at(-1)!, /completed {2}3\.0 MiB \/ 3\.0 MiB \(100\.0%\)/);
    assert.match(run.stdout.at(-1)!, /^completed: 3\.0 MiB received from .*\/file\.bin into .*plain\.bin, HTTP 200$/);
    guid = /guid ([0-9a-f-]{36})/.exec(run.stdout.join('\n'))?.[1] ?? '';
    assert.notEqual(guid, '', describeRun(run));
  });

  test('--json prints the BackgroundDownloadProgress fields plus guid, ending with status 5', async () => {
    const out = join(dir.path, 'inproc', 'json.bin');
    const run = await bgtransfer(['download', `${server.url}/fast.bin`, out, '--json'], env);
    assert.equal(run.code, 0, describeRun(run));
    const lines = run.stdout.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const line of lines) {
      assert.deepEqual(Object.keys(line).sort(), [
        'bytesReceived',
        'guid',
        'hasResponseChanged',
        'hasRestarted',
        'status',
        'totalBytesToReceive',
      ]);
    }
    assert.equal(lines.at(-1)!.status, 5);
    assert.equal(lines.at(-1)!.bytesReceived, file.size);
    assert.equal(lines.at(-1)!.totalBytesToReceive, file.size);
    assert.equal(await sha256Of(out), file.sha256);
  });

  test('list shows the download with its direction; response shows the answer', async () => {
    const list = await bgtransfer(['list', '--json'], env);
    assert.equal(list.code, 0, describeRun(list));
    const entry = list.stdout
      .map((line) => JSON.parse(line) as { guid: string; direction: string; status: number; method: string })
      .find((candidate) => candidate.guid === guid);
    assert.ok(entry, describeRun(list));
    assert.equal(entry.direction, 'download');
    assert.equal(entry.status, 5);
    assert.equal(entry.method, 'GET');
    const table = await bgtransfer(['list'], env);
    assert.match(table.stdout[0] ?? '', /^GUID +DIRECTION +STATUS +BYTES \/ TOTAL +METHOD +URI$/);
    assert.ok(
      table.stdout.some((line) => line.startsWith(guid) && / download +completed /.test(line)),
      describeRun(table),
    );
    const cancel = await bgtransfer(['cancel', guid], env);
    assert.match(
      cancel.stderr.join('\n'),
      new RegExp(`^bgtransfer: download ${guid} had already ended \\(completed\\)$`, 'm'),
    );
    const response = await bgtransfer(['response', guid], env);
    assert.equal(response.code, 0, describeRun(response));
    assert.ok(response.stdout.includes('statusCode: 200'), describeRun(response));
    assert.ok(
      response.stdout.some((line) => /^ {2}ETag: "/.test(line)),
      describeRun(response),
    );
  });

  test('a 404 answer exits 1 and leaves no FILE', async () => {
    const out = join(dir.path, 'inproc', 'missing.bin');
    const run = await bgtransfer(['download', `${server.url}/missing.bin`, out], env);
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr.join('\n'), /^bgtransfer: download [0-9a-f-]{36} failed: .*404.*\(BT_ERR_HTTP_STATUS\)$/m);
    assert.equal(existsSync(out), false);
  });

  test('a server that cannot resume: the download starts over, says so once, and ends byte-exact (D20, D25)', async () => {
    const restartEnv = homeEnv('restart');
    // Slow enough that checkpoints (every 500 ms) show bytes on disk before the cut: only then is there a
    // restart to report.
    await server.serve('/no-ranges.bin', file.path, {
      ignoreRanges: true,
      cutAfterBytes: 2 * 1024 * 1024,
      throttleBytesPerSecond: 1024 * 1024,
    });
    const config = await bgtransfer(['config', 'retryBaseDelayMs', '100'], restartEnv);
    assert.equal(config.code, 0, describeRun(config));
    const out = join(dir.path, 'restarted.bin');
    const run = await bgtransfer(['download', `${server.url}/no-ranges.bin`, out], restartEnv);
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(await sha256Of(out), file.sha256);
    const notes = run.stdout.filter((line) => /restarted from byte 0/.test(line));
    assert.equal(notes.length, 1, describeRun(run));
    assert.match(notes[0] ?? '', /^download [0-9a-f]{8} restarted from byte 0 .*D20\)$/);
    assert.equal(server.requests.filter((r) => r.path === '/no-ranges.bin').length, 2);
  });

  test('bad usage exits 2: a missing FILE argument, a bad header', async () => {
    const missing = await bgtransfer(['download', `${server.url}/file.bin`], env);
    assert.equal(missing.code, 2, describeRun(missing));
    assert.match(missing.stderr.join('\n'), /missing required argument 'file'/);
    const header = await bgtransfer(['download', `${server.url}/file.bin`, join(dir.path, 'x'), '-H', 'Bad'], env);
    assert.equal(header.code, 2, describeRun(header));
    assert.match(header.stderr.join('\n'), /\(BT_ERR_INVALID_HEADER\)$/m);
  });

  test('pause, resume and cancel a queued download', async () => {
    const queuedEnv = homeEnv('queued');
    // Detached in process: nothing runs it after the command, so it is still queued when paused.
    const queued = await bgtransfer(
      ['download', `${server.url}/file.bin`, join(dir.path, 'q.bin'), '--detach'],
      queuedEnv,
    );
    assert.equal(queued.code, 0, describeRun(queued));
    const queuedGuid = queued.stdout[0] ?? '';
    assert.match(queuedGuid, /^[0-9a-f-]{36}$/);
    const pause = await bgtransfer(['pause', queuedGuid], queuedEnv);
    assert.deepEqual(pause.stdout, [`paused ${queuedGuid} (pausedByApplication)`], describeRun(pause));
    const resume = await bgtransfer(['resume', queuedGuid], queuedEnv);
    assert.equal(resume.code, 0, describeRun(resume));
    const cancel = await bgtransfer(['cancel', queuedGuid], queuedEnv);
    assert.deepEqual(cancel.stdout, [`canceled ${queuedGuid}`], describeRun(cancel));
  });
});

describe('bgtransfer download through the transfer host (BGTRANSFER_HOST=auto)', () => {
  const env = homeEnv('auto', 'auto');

  after(async () => {
    const stop = await bgtransfer(['host', 'stop'], env);
    if (stop.code === 0) return;
    // A host that cannot be asked to stop must not outlive the test: end it through its lock file's pid.
    const pid = Number.parseInt(await readFile(`${env.BGTRANSFER_HOME}/engine.lock`, 'utf8').catch(() => ''), 10);
    const command = pid > 0 ? await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '') : '';
    if (command.includes('host-entry')) process.kill(pid, 'SIGTERM');
  });

  test('--detach prints the guid at once; watch follows it to the end and the file is byte-exact', async () => {
    const out = join(dir.path, 'auto.bin');
    const detached = await bgtransfer(['download', `${server.url}/file.bin`, out, '--detach'], env);
    assert.equal(detached.code, 0, describeRun(detached));
    const [guid] = detached.stdout;
    assert.match(guid ?? '', /^[0-9a-f-]{36}$/);
    const watch = await bgtransfer(['watch', guid!, '--json'], env);
    assert.equal(watch.code, 0, describeRun(watch));
    const last = JSON.parse(watch.stdout.at(-1)!) as Record<string, unknown>;
    assert.equal(last.status, 5);
    assert.equal(last.bytesReceived, file.size);
    assert.equal('bytesSent' in last, false, 'a download line has no upload counters');
    assert.equal(await sha256Of(out), file.sha256);
  });
});
