import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { CONFIG_KEYS } from '../../src/core/config-rules.ts';
import { CLI, type CliRun, describeRun, runBgtransfer } from '../helpers/cli-run.ts';
import { findFreePort } from '../helpers/free-port.ts';
import { NODE_TS_FLAGS } from '../helpers/process-tools.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * What a user sees of `bgtransfer` beyond the exit code: no false "restarted from byte 0" note, a
 * progress display that fits the terminal, and a --help that lists the environment and every setting.
 * Each spawns the CLI (src/cli/main.ts); the terminal test runs it on a real pseudo-terminal (`script`
 * from util-linux) with the width set by `stty`.
 */

const RESTART_NOTE = /restarted from byte 0/;

let dir: TempDir;
let file: RandomFile;
let server: UploadServer;

function bgtransfer(args: readonly string[], home: string): Promise<CliRun> {
  return runBgtransfer(args, { BGTRANSFER_HOME: home, BGTRANSFER_HOST: 'inproc' });
}

/** A home whose failures retry quickly. */
async function newHome(name: string): Promise<string> {
  const home = `${dir.path}/${name}`;
  await mkdir(home, { recursive: true, mode: 0o700 });
  await writeFile(`${home}/config.json`, JSON.stringify({ maxAttempts: 3, retryBaseDelayMs: 20 }));
  return home;
}

before(async () => {
  dir = await makeTempDir('bgtransfer-cli-output-');
  // 3 MiB at 2 MiB/s: long enough for several redraws of the bar and for a reset halfway.
  file = await writeRandomFile(dir.path, 'payload.bin', 3 * 1024 * 1024);
  server = await startUploadServer({ throttleBytesPerSecond: 2 * 1024 * 1024 });
});

after(async () => {
  await server.close();
  await dir.cleanup();
});

describe('the restart note', () => {
  test('is not printed when the connection was refused before any byte was sent', async () => {
    const closed = await findFreePort();
    const run = await bgtransfer(
      ['upload', file.path, `http://127.0.0.1:${closed}/x`, '-X', 'PUT'],
      await newHome('refused'),
    );
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr.join('\n'), /\(BT_ERR_CANNOT_CONNECT\)$/m);
    // Three attempts were made (maxAttempts 3), none sent a byte.
    assert.ok(run.stdout.filter((line) => /\brunning\b/.test(line)).length >= 2, describeRun(run));
    assert.doesNotMatch(run.stdout.join('\n'), RESTART_NOTE, describeRun(run));
  });

  test('is printed when bytes were sent and the upload starts again from byte 0', async () => {
    let puts = 0;
    server.route(
      '/reset-once',
      async (request) => {
        if (request.method !== 'PUT') return { status: 204 };
        puts += 1;
        // The first PUT is reset after about a second (2 MiB/s: well into the body); the next one completes.
        if (puts === 1) return { destroy: 'reset', delayMs: 1_000 };
        while (!request.complete && !request.aborted) await sleep(20);
        return { status: 201 };
      },
      { answerBeforeBody: true },
    );
    const run = await bgtransfer(
      ['upload', file.path, `${server.url}/reset-once`, '-X', 'PUT'],
      await newHome('reset'),
    );
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(run.stdout.filter((line) => RESTART_NOTE.test(line)).length, 1, describeRun(run));
  });
});

/** Every run of visible text between line ends and escape sequences: what the terminal shows on one line. */
function visibleSegments(output: string): string[] {
  const esc = String.fromCharCode(0x1b);
  const breaks = new RegExp(`\\r|\\n|${esc}\\[[0-9;?]*[A-Za-z]`);
  return output.split(breaks).filter((segment) => segment.trim() !== '');
}

describe('the progress display on a terminal', () => {
  for (const columns of [80, 120]) {
    test(`fits ${columns} columns: the bar line ends with the status, notes are wrapped, not cut`, async () => {
      const home = await newHome(`tty-${columns}`);
      const node = [
        process.execPath,
        ...NODE_TS_FLAGS,
        CLI,
        'upload',
        file.path,
        `${server.url}/tty-${columns}`,
        '-X',
        'PUT',
      ]
        .map((arg) => `'${arg.replaceAll("'", "'\\''")}'`)
        .join(' ');
      const { stdout } = await promisify(execFile)(
        'script',
        ['-qfec', `stty cols ${columns} rows 24 && exec ${node}`, '/dev/null'],
        {
          env: {
            ...process.env,
            BGTRANSFER_HOME: home,
            BGTRANSFER_HOST: 'inproc',
            BGTRANSFER_LOG_LEVEL: 'warn',
            BGTRANSFER_APP_ID: '',
          },
          timeout: 120_000,
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      const segments = visibleSegments(stdout);
      for (const segment of segments) {
        assert.ok([...segment].length < columns, `wider than ${columns - 1}: ${JSON.stringify(segment)}`);
      }
      const bars = segments.filter((segment) => segment.startsWith('payload.bin ['));
      assert.ok(bars.length > 0, stdout);
      assert.match(bars.at(-1)!, /\] 100% .*\| completed$/);
      for (const bar of bars) assert.match(bar, /\| (idle|running|completed)$/, bar);
      // The first note names the guid in full: a wrapped line keeps every word whole.
      const guid = segments.join('\n').match(/guid\s+([0-9a-f-]{36})/)?.[1];
      assert.ok(guid, stdout);
      assert.match(segments.join('\n'), /^completed: 3\.0 MiB sent to /m);
    });
  }
});

describe('--help', () => {
  test('lists the environment variables and every setting with its default', async () => {
    const run = await bgtransfer(['--help'], `${dir.path}/help`);
    assert.equal(run.code, 0, describeRun(run));
    const help = run.stdout.join('\n');
    for (const name of [
      'BGTRANSFER_HOME',
      'BGTRANSFER_HOST',
      'BGTRANSFER_APP_ID',
      'BGTRANSFER_LOG_LEVEL',
      'HTTPS_PROXY',
      'NO_PROXY',
    ]) {
      assert.match(help, new RegExp(`^  ${name}\\b`, 'm'), `--help lacks ${name}`);
    }
    const keys = CONFIG_KEYS;
    for (const key of keys) {
      assert.match(help, new RegExp(`^  ${key} +\\S`, 'm'), `--help lacks the setting ${key}`);
    }
    assert.equal(help.match(/Default: /g)?.length, keys.length, 'one default per setting');
  });
});
