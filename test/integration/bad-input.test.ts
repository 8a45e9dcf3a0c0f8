import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stopHost } from '../../src/ipc/host-control.ts';
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

before(async () => {
  temp = await makeTempDir('bt-bad-input-');
  server = await startUploadServer();
  const files = await Promise.all([1, 2].map((n) => writeRandomFile(temp.path, `sentinel-${n}.bin`, 4096 * n)));
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

test('the table has at least 30 rows, each with a distinct name', () => {
  assert.ok(ROWS.length >= 30, `${ROWS.length} rows`);
  assert.equal(new Set(ROWS.map((row) => row.name)).size, ROWS.length);
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
