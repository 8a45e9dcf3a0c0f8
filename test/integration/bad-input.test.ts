import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { closeAsync } from '../../src/api/port-provider.ts';
import { hostStatus, stopHost } from '../../src/ipc/host-control.ts';
import { API_ROWS } from '../helpers/bad-input-api-rows.ts';
import { type AreaContext, type AreaRow, assertHostServes } from '../helpers/bad-input-area.ts';
import { CLI_ROWS } from '../helpers/bad-input-cli-rows.ts';
import {
  appCall,
  assertSentinelsIntact,
  copyHome,
  homeFiles,
  killProcessesUnder,
  makeSentinelHome,
  type RowContext,
} from '../helpers/bad-input-harness.ts';
import { BAD_INPUT_ROWS as ROWS } from '../helpers/bad-input-rows.ts';
import { SOCKET_ROWS, setSentinelGuid } from '../helpers/bad-input-socket-rows.ts';
import { spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * Bad files in BGTRANSFER_HOME, each met with real processes: the app calls through the real launcher,
 * which starts a real host. Every row expects a coded error that names the real reason (not "see
 * host.log"), or a host that serves; and after the bad input is undone, the sentinel uploads stored
 * before it are all still there. Add a row to BAD_INPUT_ROWS (test/helpers/bad-input-rows.ts) to cover another bad input.
 */

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

let temp: TempDir;
let server: UploadServer;
let template: string;
let sentinels: string[];
let sentinelFile: string;

before(async () => {
  temp = await makeTempDir('bt-bad-input-');
  server = await startUploadServer();
  const files = await Promise.all([1, 2].map((n) => writeRandomFile(temp.path, `sentinel-${n}.bin`, 4096 * n)));
  sentinelFile = files[0]?.path ?? '';
  template = join(temp.path, 'template');
  sentinels = await makeSentinelHome(
    template,
    server,
    files.map((file) => file.path),
  );
});

after(async () => {
  // A host a row left running (or, in a broken build, hung) is ours: it runs in a home under temp.
  killProcessesUnder(temp.path);
  await server.close();
  await temp.cleanup();
});

const AREAS: ReadonlyArray<readonly [string, readonly { name: string }[]]> = [
  ['config.json, store and home', ROWS],
  ['API', API_ROWS],
  ['CLI', CLI_ROWS],
  ['socket', SOCKET_ROWS],
];

test('the table has at least 100 rows, each with a distinct name', (t) => {
  const all = AREAS.flatMap(([, rows]) => rows.map((row) => row.name));
  for (const [area, rows] of AREAS) t.diagnostic(`${area}: ${rows.length} rows`);
  t.diagnostic(`total: ${all.length} rows`);
  assert.ok(all.length >= 100, `${all.length} rows`);
  assert.equal(new Set(all).size, all.length);
});

test('after BT_ERR_STORE_REPLACED, `bgtransfer host reset-store` keeps the old files aside and the next host starts empty', {
  timeout: 120_000,
}, async () => {
  const scratch = join(temp.path, 'reset-store');
  mkdirSync(scratch, { mode: 0o700 });
  const home = join(scratch, 'home');
  copyHome(template, home);
  try {
    writeFileSync(homeFiles(home).db, '');
    assert.equal((await appCall(home)).code, 'BT_ERR_STORE_REPLACED');
    const cli = spawnNode([CLI, 'host', 'reset-store'], { env: { BGTRANSFER_HOME: home, BGTRANSFER_HOST: 'auto' } });
    const exit = await cli.exited;
    assert.equal(exit.code, 0, cli.stderrLines.join('\n'));
    const moved = cli.stdoutLines.filter((line) => line.startsWith('moved aside: '));
    assert.ok(
      moved.some((line) => line.includes('bgtransfer.db.id.aside-')),
      cli.stdoutLines.join('\n'),
    );
    assert.deepEqual(await appCall(home), {});
    await stopHost(home);
  } finally {
    killProcessesUnder(scratch);
  }
});

/** Rows use homes of their own, so a few run at once (most of a row is waiting for a host to start). */
const ROW_CONCURRENCY = 3;

describe('bad input', { concurrency: ROW_CONCURRENCY }, () => {
  for (const [index, row] of ROWS.entries()) {
    test(row.name, { timeout: 120_000 }, async () => {
      const scratch = join(temp.path, `row-${index}`);
      mkdirSync(scratch, { mode: 0o700 });
      const home = join(scratch, 'home');
      copyHome(template, home);
      const ctx: RowContext = { home, appHome: home, scratch };
      try {
        await row.arrange(ctx);
        const outcome = await (row.act ?? ((c: RowContext) => appCall(c.appHome)))(ctx);
        if ('serves' in row.expect) {
          assert.equal(outcome.code, undefined, `the call failed: ${outcome.code} ${outcome.message}`);
        } else {
          assert.equal(outcome.code, row.expect.code, outcome.message);
          assert.doesNotMatch(outcome.message ?? '', /see .*host\.log/, 'the app hears the real reason');
          if (row.expect.message) assert.match(outcome.message ?? '', row.expect.message);
        }
        await row.check?.(ctx);
        await row.repair?.(ctx);
        await assertSentinelsIntact(home, sentinels);
      } finally {
        killProcessesUnder(scratch);
      }
    });
  }
});

/**
 * API, CLI and socket rows change nothing in the home, so each area shares one home and one running
 * host; after every row the same host must still serve and the sentinels must be intact.
 */
function areaSuite(
  area: string,
  rows: readonly AreaRow[],
  hooks: { before?(home: string): void; after?(): Promise<void> } = {},
): void {
  describe(`bad input: ${area}`, () => {
    const ctx: AreaContext = { home: '', scratch: '', url: '', file: '' };
    let pid = 0;
    before(async () => {
      ctx.scratch = join(temp.path, `area-${area}`);
      mkdirSync(ctx.scratch, { mode: 0o700 });
      ctx.home = join(ctx.scratch, 'home');
      ctx.url = server.url;
      ctx.file = sentinelFile;
      copyHome(template, ctx.home);
      assert.deepEqual(await appCall(ctx.home), {});
      pid = (await hostStatus(ctx.home))?.pid ?? 0;
      setSentinelGuid(sentinels[0] ?? '');
      hooks.before?.(ctx.home);
    });
    after(async () => {
      try {
        await hooks.after?.();
        await assertSentinelsIntact(ctx.home, sentinels);
      } finally {
        killProcessesUnder(ctx.scratch);
      }
    });
    for (const row of rows) {
      test(row.name, { timeout: 60_000 }, async () => {
        const outcome = await row.act(ctx);
        if ('serves' in row.expect) {
          assert.equal(outcome.code, undefined, `the call failed: ${outcome.code} ${outcome.message}`);
        } else {
          assert.equal(outcome.code, row.expect.code, outcome.message);
          if (row.expect.message) assert.match(outcome.message ?? '', row.expect.message);
          if (row.expect.exit !== undefined) {
            assert.equal((outcome as { exit?: number | null }).exit, row.expect.exit, outcome.message);
          }
        }
        await assertHostServes(ctx.home, pid, sentinels);
      });
    }
  });
}

areaSuite('API', API_ROWS, {
  // The API in this process talks to the area's host through the socket, as an app with BGTRANSFER_HOST=auto.
  before(home) {
    process.env.BGTRANSFER_HOME = home;
    process.env.BGTRANSFER_HOST = 'auto';
    process.env.BGTRANSFER_APP_ID = 'bad-input-app';
    process.env.BGTRANSFER_LOG_LEVEL = 'silent';
  },
  after: closeAsync,
});
areaSuite('CLI', CLI_ROWS);
areaSuite('socket', SOCKET_ROWS);
