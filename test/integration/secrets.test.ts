import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { type Apache, startApache } from '../helpers/apache.ts';
import { type CliRun, describeRun, runBgtransfer } from '../helpers/cli-run.ts';
import { findFreePort } from '../helpers/free-port.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * No secret leaves bgtransfer as text. Real uploads through the transfer host (BGTRANSFER_HOST=auto,
 * so host.log is written) with URLs that carry userinfo and presigned query values, and headers with
 * credentials; then every line of CLI output (upload, list, list --json, watch, response,
 * response --json) and host.log is searched for the secret strings. Userinfo in an http:// URL also
 * has to work as the server credential, as curl uses it: Debian's Apache with Basic authentication.
 */

/** Every secret below contains this, so one search finds any of them; none is a substring of anything else. */
const MARK = 'Zq7SECRET';
const PASSWORD = `pw${MARK}pass`;
const SIGNATURE = `sig${MARK}0123`;
const CREDENTIAL = `AKIA${MARK}CRED`;
const TOKEN = `tok${MARK}en`;
const BEARER = `bearer${MARK}hdr`;
const COOKIE = `cookie${MARK}val`;
const SET_COOKIE = `setcookie${MARK}val`;

let dir: TempDir;
let file: RandomFile;

function bgtransfer(args: readonly string[], home: string): Promise<CliRun> {
  // debug: the host and the client log everything they would ever log.
  return runBgtransfer(args, { BGTRANSFER_LOG_LEVEL: 'debug', BGTRANSFER_HOME: home, BGTRANSFER_HOST: 'auto' });
}

/** A home with fast retries, so failures end within seconds. */
async function newHome(name: string): Promise<string> {
  const home = `${dir.path}/${name}`;
  await mkdir(home, { recursive: true, mode: 0o700 });
  await writeFile(`${home}/config.json`, JSON.stringify({ maxAttempts: 2, retryBaseDelayMs: 20 }));
  return home;
}

async function stopHost(home: string): Promise<void> {
  const stop = await bgtransfer(['host', 'stop'], home);
  if (stop.code === 0) return;
  // A host that cannot be asked to stop must not outlive the test: end it through its lock file's pid.
  const pid = Number.parseInt(await readFile(`${home}/engine.lock`, 'utf8').catch(() => ''), 10);
  const command = pid > 0 ? await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '') : '';
  if (command.includes('host-entry')) process.kill(pid, 'SIGTERM');
}

/** Everything the user can read about the uploads of `home`: every command's output, and host.log. */
async function everythingPrinted(home: string, guid: string, runs: CliRun[]): Promise<string> {
  // Read-only commands: run together, to keep the test short.
  const more = await Promise.all([
    bgtransfer(['list'], home),
    bgtransfer(['list', '--json'], home),
    bgtransfer(['watch', guid], home),
    bgtransfer(['watch', guid, '--json'], home),
    bgtransfer(['response', guid], home),
    bgtransfer(['response', guid, '--json'], home),
  ]);
  const hostLog = await readFile(`${home}/host.log`, 'utf8');
  assert.ok(hostLog.length > 0, 'host.log is written');
  return [...runs, ...more].map(describeRun).join('\n') + hostLog;
}

function assertNoSecret(text: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    const at = text.indexOf(secret);
    assert.equal(at, -1, `"${secret}" was printed: …${text.slice(Math.max(0, at - 200), at + 100)}…`);
  }
  assert.doesNotMatch(text, new RegExp(MARK));
}

before(async () => {
  dir = await makeTempDir('bgtransfer-secrets-');
  file = await writeRandomFile(dir.path, 'payload.bin', 256 * 1024);
});

after(async () => {
  await dir.cleanup();
});

describe('userinfo in an http:// URL is the server credential (Apache, Basic authentication)', () => {
  let apache: Apache;
  let home: string;

  before(async () => {
    apache = await startApache({ userName: 'alice', password: PASSWORD });
    home = await newHome('userinfo');
  });

  after(async () => {
    await stopHost(home);
    await apache.stop();
  });

  test('the upload logs in with it, and no output shows the password', async () => {
    const target = `${apache.basicUrl}ok.bin`.replace('http://', `http://alice:${PASSWORD}@`);
    const upload = await bgtransfer(['upload', file.path, target, '-X', 'PUT'], home);
    assert.equal(upload.code, 0, `${describeRun(upload)}\n${await apache.errorLog()}`);
    assert.deepEqual(await readFile(`${apache.basicRoot}/ok.bin`), await readFile(file.path));
    assert.ok(
      (await apache.accessLog()).some(
        (line) =>
          line.method === 'PUT' && line.path === '/basic/ok.bin' && line.status === 201 && line.user === 'alice',
      ),
      'Apache logged no PUT of /basic/ok.bin accepted for alice',
    );
    const list = await bgtransfer(['list', '--json'], home);
    const entry = JSON.parse(list.stdout[0] ?? '{}') as { guid: string; requestedUri: string };
    // Taken out of the URI itself: nothing left to mask.
    assert.equal(entry.requestedUri, `${apache.basicUrl}ok.bin`);
    assertNoSecret(await everythingPrinted(home, entry.guid, [upload, list]), [PASSWORD, 'alice:']);
  });

  test('a wrong password fails with 401, and the message does not show it', async () => {
    const wrong = `wrong${MARK}pw`;
    const target = `${apache.basicUrl}denied.bin`.replace('http://', `http://alice:${wrong}@`);
    const upload = await bgtransfer(['upload', file.path, target, '-X', 'PUT'], home);
    assert.equal(upload.code, 1, describeRun(upload));
    assert.match(upload.stderr.join('\n'), /answered 401 .*\(BT_ERR_HTTP_STATUS\)$/m);
    const list = await bgtransfer(['list', '--json'], home);
    const guid = (JSON.parse(list.stdout.at(-1) ?? '{}') as { guid: string }).guid;
    assertNoSecret(await everythingPrinted(home, guid, [upload, list]), [wrong, PASSWORD]);
  });
});

describe('presigned URLs and credential headers never appear in errors, logs or output', () => {
  let server: UploadServer;
  let home: string;
  const query = `?X-Amz-Credential=${CREDENTIAL}&X-Amz-Date=20261206T000000Z&X-Amz-Signature=${SIGNATURE}&token=${TOKEN}`;
  const headers = ['-H', `Authorization: Bearer ${BEARER}`, '-H', `Cookie: sid=${COOKIE}`];
  const secrets = [PASSWORD, SIGNATURE, CREDENTIAL, TOKEN, BEARER, COOKIE, SET_COOKIE];

  before(async () => {
    server = await startUploadServer();
    const answer = (status: number) => () => ({
      status,
      headers: [
        ['Set-Cookie', `session=${SET_COOKIE}; HttpOnly`],
        ['Location', `${server.url}/elsewhere${query}`],
      ] as Array<[string, string]>,
      body: 'denied',
    });
    server.route('/forbidden', answer(403));
    server.route('/broken', answer(500));
    home = await newHome('presigned');
  });

  after(async () => {
    await stopHost(home);
    await server.close();
  });

  for (const [path, status] of [
    ['/forbidden', 403],
    ['/broken', 500],
  ] as const) {
    test(`${status}: the error names the URL without its secrets`, async () => {
      const target = `${server.url}${path}${query}`.replace('http://', `http://bob:${PASSWORD}@`);
      const upload = await bgtransfer(['upload', file.path, target, '-X', 'PUT', ...headers], home);
      assert.equal(upload.code, 1, describeRun(upload));
      const stderr = upload.stderr.join('\n');
      assert.match(stderr, new RegExp(`PUT http://127\\.0\\.0\\.1:\\d+${path}\\?\\S* the server answered ${status} `));
      assert.match(stderr, /X-Amz-Signature=\*\*\*&token=\*\*\*/);
      // The request itself carried every secret: they were used, only never printed.
      const sent = server.requests.find((request) => request.url.startsWith(path) && request.method === 'PUT');
      assert.ok(sent?.url.includes(SIGNATURE));
      const list = await bgtransfer(['list', '--json'], home);
      const guid = (JSON.parse(list.stdout.at(-1) ?? '{}') as { guid: string }).guid;
      const printed = await everythingPrinted(home, guid, [upload, list]);
      assert.match(printed, /Set-Cookie: \*\*\*/);
      assertNoSecret(printed, secrets);
    });
  }

  test('a refused connection: the network error names the URL without its secrets', async () => {
    const closed = await findFreePort();
    const target = `http://bob:${PASSWORD}@127.0.0.1:${closed}/up${query}`;
    const upload = await bgtransfer(['upload', file.path, target, '-X', 'PUT', ...headers], home);
    assert.equal(upload.code, 1, describeRun(upload));
    assert.match(upload.stderr.join('\n'), /\(BT_ERR_CANNOT_CONNECT\)$/m);
    const list = await bgtransfer(['list', '--json'], home);
    const guid = (JSON.parse(list.stdout.at(-1) ?? '{}') as { guid: string }).guid;
    assertNoSecret(await everythingPrinted(home, guid, [upload, list]), secrets);
  });
});
