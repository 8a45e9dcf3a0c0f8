import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { plainTransfer } from '../../src/cli/transfer-argv.ts';
import { type CliRun, describeRun, runBgtransfer } from '../helpers/cli-run.ts';
import { type DownloadServer, startDownloadServer } from '../helpers/download-server.ts';
import { spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * A plain `bgtransfer upload`/`download` runs without the command tree (src/cli/transfer-alone.ts). Each
 * command line below runs both ways against the same transfer host and servers, as real processes:
 * through src/cli/main.ts (the lean path) and through the command tree (test/scripts/full-cli.ts). The
 * exit code, stderr and the lines that do not depend on timing must be the same; guids differ, so they
 * are replaced before comparing.
 */

const FULL_CLI = fileURLToPath(new URL('../scripts/full-cli.ts', import.meta.url));
const LOADED_MODULES = fileURLToPath(new URL('../scripts/loaded-modules.ts', import.meta.url));

const dir: TempDir = await makeTempDir('bgtransfer-cli-lean-');
const source = join(dir.path, 'small.bin');
await writeFile(source, 'eleven bytes');
const uploads: UploadServer = await startUploadServer();
uploads.route('/missing', () => ({ status: 404, body: 'no such bucket' }));
const downloads: DownloadServer = await startDownloadServer();
await downloads.serve('/small.bin', source);
await downloads.serve('/missing.bin', source, { intercept: () => ({ status: 404, body: 'no such file' }) });
const env = { BGTRANSFER_HOME: join(dir.path, 'home'), BGTRANSFER_HOST: 'auto' };

after(async () => {
  const stop = await runBgtransfer(['host', 'stop'], env);
  // A host that cannot be asked to stop must not outlive the test: end it through its lock file's pid.
  if (stop.code !== 0) {
    const pid = Number.parseInt(await readFile(join(env.BGTRANSFER_HOME, 'engine.lock'), 'utf8').catch(() => ''), 10);
    const command = pid > 0 ? await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '') : '';
    if (command.includes('host-entry')) process.kill(pid, 'SIGTERM');
  }
  await uploads.close();
  await downloads.close();
  await dir.cleanup();
});

async function throughTree(args: readonly string[]): Promise<CliRun> {
  const child = spawnNode([FULL_CLI, ...args], {
    env: { BGTRANSFER_APP_ID: undefined, BGTRANSFER_LOG_LEVEL: 'warn', ...env },
  });
  const exit = await child.exited;
  return { ...exit, stdout: [...child.stdoutLines], stderr: [...child.stderrLines] };
}

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** What must not differ between the two paths: no guid, no timing (progress lines between the first and last). */
function comparable(run: CliRun, whole: boolean): unknown {
  const stdout = run.stdout.map((line) => line.replace(GUID, 'GUID'));
  return {
    code: run.code,
    signal: run.signal,
    stderr: run.stderr.map((line) => line.replace(GUID, 'GUID')),
    stdout: whole ? stdout : [stdout[0], stdout.at(-1)],
  };
}

async function assertSameBothWays(args: string[], whole: boolean): Promise<CliRun> {
  assert.ok(plainTransfer(args), 'the lean path reads this command line');
  const lean = await runBgtransfer(args, env);
  const tree = await throughTree(args);
  assert.deepEqual(
    comparable(lean, whole),
    comparable(tree, whole),
    `lean:\n${describeRun(lean)}\ntree:\n${describeRun(tree)}`,
  );
  return lean;
}

describe('upload and download: the lean path and the command tree say the same', { concurrency: false }, () => {
  test('an upload with plain progress lines', async () => {
    const run = await assertSameBothWays(['upload', source, `${uploads.url}/plain`, '--method', 'PUT'], false);
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout.at(-1) ?? '', /^completed: 12 B sent to .*\/plain, HTTP 201$/);
  });

  test('an upload with --json, headers, priority, cost policy and group', async () => {
    const args = ['upload', source, `${uploads.url}/json`, '-X', 'PUT', '--json', '-H', 'X-Trace: 1'];
    const run = await assertSameBothWays(
      [...args, '--priority=high', '--cost-policy', 'always', '--group', 'g'],
      false,
    );
    assert.equal((JSON.parse(run.stdout.at(-1) ?? '{}') as { status?: number }).status, 5, describeRun(run));
    const sent = uploads.requests.filter((request) => request.url === '/json' && request.method === 'PUT');
    assert.deepEqual(
      sent.map((request) => request.headers.find(([name]) => name.toLowerCase() === 'x-trace')?.[1]),
      ['1', '1'],
    );
  });

  test('an upload with --detach prints the guid and nothing else', async () => {
    const run = await assertSameBothWays(['upload', source, `${uploads.url}/detached`, '--detach'], true);
    assert.match(run.stdout[0] ?? '', /^[0-9a-f-]{36}$/);
  });

  test('an upload the server refuses exits 1 with the same message', async () => {
    const run = await assertSameBothWays(['upload', source, `${uploads.url}/missing`, '-X', 'PUT'], false);
    assert.equal(run.code, 1, describeRun(run));
  });

  test('bad input exits 2 with the same message, before anything is queued', async () => {
    for (const args of [
      ['upload', join(dir.path, 'no-such-file'), `${uploads.url}/x`],
      ['upload', source, `${uploads.url}/x`, '-H', 'no colon'],
      ['upload', source, 'ftp:/not a url'],
      ['download', 'gopher://example.test/x', join(dir.path, 'x.bin')],
    ]) {
      const run = await assertSameBothWays(args, true);
      assert.equal(run.code, 2, describeRun(run));
    }
  });

  test('a URL with a password: redacted on both paths', async () => {
    const url = `${uploads.url.replace('http://', 'http://user:hunter2@')}/secret`;
    const run = await assertSameBothWays(['upload', source, url, '-X', 'PUT'], false);
    assert.doesNotMatch([...run.stdout, ...run.stderr].join('\n'), /hunter2/);
  });

  test('a download with plain progress lines and with --json', async () => {
    const plain = await assertSameBothWays(['download', `${downloads.url}/small.bin`, join(dir.path, 'a.bin')], false);
    assert.equal(plain.code, 0, describeRun(plain));
    assert.equal(await readFile(join(dir.path, 'a.bin'), 'utf8'), 'eleven bytes');
    const json = await assertSameBothWays(
      ['download', `${downloads.url}/small.bin`, join(dir.path, 'b.bin'), '--json'],
      false,
    );
    assert.equal((JSON.parse(json.stdout.at(-1) ?? '{}') as { status?: number }).status, 5, describeRun(json));
  });

  test('a download the server refuses exits 1 with the same message', async () => {
    const run = await assertSameBothWays(['download', `${downloads.url}/missing.bin`, join(dir.path, 'c.bin')], false);
    assert.equal(run.code, 1, describeRun(run));
  });

  test('the lean path loads neither commander, zod, pino, cli-progress nor the engine', async () => {
    const log = join(dir.path, 'modules.log');
    const child = spawnNode([LOADED_MODULES, 'cli', log, 'upload', source, `${uploads.url}/modules`, '-X', 'PUT'], {
      env: { BGTRANSFER_APP_ID: undefined, ...env },
    });
    const exit = await child.exited;
    assert.equal(exit.code, 0, child.stderrLines.join('\n'));
    const line = child.stdoutLines.find((candidate) => candidate.startsWith('{"modules":'));
    const modules = (JSON.parse(line ?? '{"modules":[]}') as { modules: string[] }).modules;
    assert.ok(
      modules.some((url) => url.endsWith('/src/ipc/socket-port.ts')),
      'the check sees the socket client',
    );
    const forbidden = ['commander', 'zod', 'pino', 'cli-progress', 'better-sqlite3', 'undici'];
    assert.deepEqual(
      forbidden.filter((name) => modules.some((url) => url.includes(`/node_modules/${name}/`))),
      [],
    );
    const folders = ['src/engine/', 'src/store/', 'src/host/', 'src/protocols/', 'src/cli/commands/'];
    assert.deepEqual(
      folders.filter((folder) => modules.some((url) => url.includes(`/${folder}`))),
      [],
    );
  });
});
