import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import { describeRun, runBgtransfer } from '../helpers/cli-run.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * The `bgtransfer` command as users run it (docs/api/cli.md): real child processes
 * of src/cli/main.ts, each with its own BGTRANSFER_HOME. The basic path runs with BGTRANSFER_HOST=inproc;
 * the same upload also goes through the transfer host (BGTRANSFER_HOST=auto).
 */

const bgtransfer = runBgtransfer;

/** The sha256 of the PUT body the server received at `path` (resumeProtocol "auto" may probe with OPTIONS first). */
function serverSha(server: UploadServer, path: string): string | null {
  const put = server.requests.find((request) => request.url === path && request.method === 'PUT' && request.complete);
  return put?.sha256 ?? null;
}

// Made at load time (top-level await) because the suites below name their homes when they are defined.
const dir: TempDir = await makeTempDir('bgtransfer-cli-');
// 3 MiB at 3 MiB/s: about a second, so the plain output shows progress lines, not only the end.
const file: RandomFile = await writeRandomFile(dir.path, 'payload.bin', 3 * 1024 * 1024);
const server: UploadServer = await startUploadServer({ throttleBytesPerSecond: 3 * 1024 * 1024 });
server.route('/missing', () => ({ status: 404, body: 'no such bucket' }));

after(async () => {
  await server.close();
  await dir.cleanup();
});

function homeEnv(name: string, host: 'inproc' | 'auto' = 'inproc'): Record<string, string> {
  return { BGTRANSFER_HOME: `${dir.path}/${name}`, BGTRANSFER_HOST: host };
}

describe('bgtransfer without an upload', { concurrency: true }, () => {
  test('--help names every command', async () => {
    const run = await bgtransfer(['--help'], homeEnv('help'));
    assert.equal(run.code, 0, describeRun(run));
    const help = run.stdout.join('\n');
    for (const command of ['upload', 'list', 'watch', 'pause', 'resume', 'cancel', 'response', 'host', 'config']) {
      assert.match(help, new RegExp(`^  ${command}\\b`, 'm'), `--help lacks ${command}`);
    }
    assert.match(help, /Examples:/);
  });

  test('bad usage exits 2', async () => {
    const missing = await bgtransfer(['upload', file.path], homeEnv('usage'));
    assert.equal(missing.code, 2, describeRun(missing));
    assert.match(missing.stderr.join('\n'), /^bgtransfer: missing required argument 'url'/m);
    const unknown = await bgtransfer(['frobnicate'], homeEnv('usage'));
    assert.equal(unknown.code, 2, describeRun(unknown));
    const badChoice = await bgtransfer(['upload', file.path, server.url, '--priority', 'urgent'], homeEnv('usage'));
    assert.equal(badChoice.code, 2, describeRun(badChoice));
  });

  test('a missing file exits 2 with BT_ERR_FILE_NOT_FOUND', async () => {
    const run = await bgtransfer(['upload', `${dir.path}/nope.bin`, `${server.url}/x`], homeEnv('missing-file'));
    assert.equal(run.code, 2, describeRun(run));
    assert.match(run.stderr.join('\n'), /^bgtransfer: .*nope\.bin.* \(BT_ERR_FILE_NOT_FOUND\)$/m);
  });

  test('a bad header exits 2 with BT_ERR_INVALID_HEADER', async () => {
    const noColon = await bgtransfer(['upload', file.path, `${server.url}/x`, '-H', 'NoColonHere'], homeEnv('hdr'));
    assert.equal(noColon.code, 2, describeRun(noColon));
    assert.match(noColon.stderr.join('\n'), /\(BT_ERR_INVALID_HEADER\)$/m);
    const badName = await bgtransfer(['upload', file.path, `${server.url}/x`, '-H', 'Bad Name: v'], homeEnv('hdr'));
    assert.equal(badName.code, 2, describeRun(badName));
    assert.match(badName.stderr.join('\n'), /\(BT_ERR_INVALID_HEADER\)$/m);
  });

  test('config sets, reads and rejects settings', async () => {
    const env = homeEnv('config');
    const set = await bgtransfer(['config', 'maxAttempts', '5'], env);
    assert.equal(set.code, 0, describeRun(set));
    const get = await bgtransfer(['config', 'maxAttempts'], env);
    assert.equal(get.code, 0, describeRun(get));
    assert.deepEqual(get.stdout, ['5']);
    const unknown = await bgtransfer(['config', 'nope', '1'], env);
    assert.equal(unknown.code, 2, describeRun(unknown));
    assert.match(unknown.stderr.join('\n'), /"nope"/);
    const badValue = await bgtransfer(['config', 'maxAttempts', 'many'], env);
    assert.equal(badValue.code, 2, describeRun(badValue));
    assert.match(badValue.stderr.join('\n'), /maxAttempts/);
  });

  test('host status without a host exits 3', async () => {
    const run = await bgtransfer(['host', 'status'], homeEnv('no-host', 'auto'));
    assert.equal(run.code, 3, describeRun(run));
    assert.match(run.stderr.join('\n'), /^bgtransfer: /m);
  });

  test('pause and resume a queued upload; an unknown guid exits 2', async () => {
    const env = homeEnv('pause');
    // Detached in process: nothing runs it after the command, so it is still queued when paused.
    const queued = await bgtransfer(['upload', file.path, `${server.url}/paused`, '-X', 'PUT', '--detach'], env);
    assert.equal(queued.code, 0, describeRun(queued));
    const guid = queued.stdout[0]!;
    const pause = await bgtransfer(['pause', guid], env);
    assert.equal(pause.code, 0, describeRun(pause));
    assert.deepEqual(pause.stdout, [`paused ${guid} (pausedByApplication)`]);
    const listed = await bgtransfer(['list', '--json'], env);
    assert.equal((JSON.parse(listed.stdout[0]!) as { status: number }).status, 2, describeRun(listed));
    const resume = await bgtransfer(['resume', guid], env);
    assert.equal(resume.code, 0, describeRun(resume));
    const cancel = await bgtransfer(['cancel', guid], env);
    assert.equal(cancel.code, 0, describeRun(cancel));
    const unknown = await bgtransfer(['pause', '00000000-0000-4000-8000-000000000000'], env);
    assert.equal(unknown.code, 2, describeRun(unknown));
    assert.match(unknown.stderr.join('\n'), /\(BT_ERR_NOT_FOUND\)$/m);
  });
});

describe('bgtransfer upload in process (BGTRANSFER_HOST=inproc)', () => {
  const env = homeEnv('inproc');
  let guid = '';

  test('completes with exit 0, plain progress lines, and the server got the same bytes', async () => {
    const run = await bgtransfer(['upload', file.path, `${server.url}/plain`, '--method', 'PUT'], env);
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(serverSha(server, '/plain'), file.sha256);
    // Not a TTY: plain lines "<file>  <status>  <sent> / <total> (<pct>)  <rate>  ETA <eta>", then the summary.
    const progressLines = run.stdout.filter((line) => line.startsWith('payload.bin  '));
    assert.ok(progressLines.length >= 2, describeRun(run));
    for (const line of progressLines) {
      assert.match(line, /^payload\.bin {2}\w+ {2}[\d.]+ [KMG]?i?B \/ 3\.0 MiB \([\d.]+%\) {2}.+\/s {2}ETA \S+$/);
    }
    assert.match(progressLines.at(-1)!, /completed {2}3\.0 MiB \/ 3\.0 MiB \(100\.0%\)/);
    assert.match(run.stdout.at(-1)!, /^completed: 3\.0 MiB sent to .*\/plain, HTTP 201$/);
    const guidLine = run.stdout.find((line) => /guid [0-9a-f-]{36}/.test(line));
    guid = /guid ([0-9a-f-]{36})/.exec(guidLine ?? '')?.[1] ?? '';
    assert.notEqual(guid, '', describeRun(run));
  });

  test('--json prints one parseable object per line, ending with status 5', async () => {
    const run = await bgtransfer(['upload', file.path, `${server.url}/json`, '-X', 'PUT', '--json'], env);
    assert.equal(run.code, 0, describeRun(run));
    const lines = run.stdout.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(lines.length >= 2);
    for (const line of lines) {
      for (const field of ['guid', 'bytesSent', 'totalBytesToSend', 'bytesReceived', 'status', 'hasRestarted']) {
        assert.ok(field in line, `missing ${field} in ${JSON.stringify(line)}`);
      }
    }
    assert.equal(lines.at(-1)!.status, 5);
    assert.equal(lines.at(-1)!.bytesSent, file.size);
    assert.equal(serverSha(server, '/json'), file.sha256);
  });

  test('list --json shows the finished upload', async () => {
    const run = await bgtransfer(['list', '--json'], env);
    assert.equal(run.code, 0, describeRun(run));
    const entries = run.stdout.map((line) => JSON.parse(line) as { guid: string; status: number; method: string });
    const entry = entries.find((candidate) => candidate.guid === guid);
    assert.ok(entry, describeRun(run));
    assert.equal(entry.status, 5);
    assert.equal(entry.method, 'PUT');
  });

  test('response GUID prints status and headers; --body prints the body', async () => {
    const info = await bgtransfer(['response', guid], env);
    assert.equal(info.code, 0, describeRun(info));
    assert.ok(info.stdout.includes('statusCode: 201'), describeRun(info));
    assert.ok(info.stdout.includes('  Content-Type: application/json'), describeRun(info));
    const body = await bgtransfer(['response', guid, '--body'], env);
    assert.equal(body.code, 0, describeRun(body));
    assert.deepEqual(JSON.parse(body.stdout.join('\n')), { sha256: file.sha256, bytes: file.size });
  });

  test('a 404 answer exits 1', async () => {
    const run = await bgtransfer(['upload', file.path, `${server.url}/missing`], env);
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr.join('\n'), /404.*\(BT_ERR_HTTP_STATUS\)$/m);
  });
});

describe('bgtransfer upload through the transfer host (BGTRANSFER_HOST=auto)', () => {
  const env = homeEnv('auto', 'auto');

  after(async () => {
    const stop = await bgtransfer(['host', 'stop'], env);
    if (stop.code === 0) return;
    // A host that cannot be asked to stop must not outlive the test: end it through its lock file's pid.
    const pid = Number.parseInt(await readFile(`${env.BGTRANSFER_HOME}/engine.lock`, 'utf8').catch(() => ''), 10);
    const command = pid > 0 ? await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '') : '';
    if (command.includes('host-entry')) process.kill(pid, 'SIGTERM');
  });

  test('completes with exit 0, and host status then reports the host', async () => {
    const run = await bgtransfer(['upload', file.path, `${server.url}/auto`, '--method', 'PUT', '--json'], env);
    assert.equal(run.code, 0, describeRun(run));
    assert.equal((JSON.parse(run.stdout.at(-1)!) as { status: number }).status, 5);
    assert.equal(serverSha(server, '/auto'), file.sha256);
    const status = await bgtransfer(['host', 'status'], env);
    assert.equal(status.code, 0, describeRun(status));
    assert.match(status.stdout.join('\n'), /^pid: \d+$/m);
  });

  test('--detach prints the guid at once; watch follows it to the end', async () => {
    const detached = await bgtransfer(['upload', file.path, `${server.url}/detached`, '-X', 'PUT', '--detach'], env);
    assert.equal(detached.code, 0, describeRun(detached));
    const [guid] = detached.stdout;
    assert.match(guid ?? '', /^[0-9a-f-]{36}$/);
    const watch = await bgtransfer(['watch', guid!, '--json'], env);
    assert.equal(watch.code, 0, describeRun(watch));
    assert.equal((JSON.parse(watch.stdout.at(-1)!) as { status: number }).status, 5);
    assert.equal(serverSha(server, '/detached'), file.sha256);
  });
});
