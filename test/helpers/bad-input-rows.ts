import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { stopHost } from '../../src/ipc/host-control.ts';
import { LATEST_SCHEMA_VERSION } from '../../src/store/migrations.ts';
import { appCall, type BadInputRow, homeFiles, type RowContext } from './bad-input-harness.ts';

/**
 * The rows of test/integration/bad-input.test.ts: bad config.json files, stores and homes. Each row makes
 * one bad input in a home holding sentinel uploads (`arrange`), optionally acts otherwise than one app
 * call (`act`), says what the app must get (`expect`) and how to undo it (`repair`).
 */

const NOBODY_UID = 65534;
/** A config.json larger than the host reads (1 MiB). */
const HUGE_CONFIG_BYTES = 2 * 1024 * 1024;
/** The host polls config.json every second: this covers two polls. */
const CONFIG_POLL_WAIT_MS = 3_000;

const mkfifo = (path: string): void => {
  execFileSync('mkfifo', ['-m', '600', path]);
};
const config = (ctx: RowContext): string => join(ctx.home, 'config.json');
const writeConfig = (ctx: RowContext, text: string): void => writeFileSync(config(ctx), text, { mode: 0o600 });
const removeConfig = (ctx: RowContext): void => rmSync(config(ctx), { recursive: true, force: true });

/** Moves the store (db, WAL, shared memory) into the row's scratch dir; `restoreStore` puts it back. */
function setStoreAside(ctx: RowContext): void {
  const files = homeFiles(ctx.home);
  for (const path of [files.db, files.wal, files.shm]) {
    try {
      renameSync(path, join(ctx.scratch, path.split('/').pop() ?? ''));
    } catch {
      // No WAL or shared-memory file: nothing to move.
    }
  }
}
function restoreStore(ctx: RowContext): void {
  const files = homeFiles(ctx.home);
  for (const path of [files.db, files.wal, files.shm]) {
    rmSync(path, { recursive: true, force: true });
    try {
      renameSync(join(ctx.scratch, path.split('/').pop() ?? ''), path);
    } catch {
      // It had none.
    }
  }
}

/** Starts the host, lets `spoil` break config.json under it, and checks it still serves afterwards. */
async function whileRunning(ctx: RowContext, spoil: () => void): Promise<{ code?: string; message?: string }> {
  const first = await appCall(ctx.appHome);
  if (first.code !== undefined) return first;
  spoil();
  await sleep(CONFIG_POLL_WAIT_MS);
  return appCall(ctx.appHome);
}

const storeRow = (name: string, arrange: (ctx: RowContext) => void, code: string): BadInputRow => ({
  name,
  arrange(ctx) {
    setStoreAside(ctx);
    arrange(ctx);
  },
  expect: { code },
  repair: restoreStore,
});

/** The table: one row per bad input. Append a row to cover another. */
export const BAD_INPUT_ROWS: BadInputRow[] = [
  // ---- config.json
  {
    name: 'config.json is a FIFO',
    arrange: (ctx) => mkfifo(config(ctx)),
    expect: { code: 'BT_ERR_CONFIG_INVALID', message: /FIFO/ },
    repair: removeConfig,
  },
  {
    name: 'config.json is a link to /dev/zero',
    arrange: (ctx) => symlinkSync('/dev/zero', config(ctx)),
    expect: { code: 'BT_ERR_CONFIG_INVALID', message: /symbolic link/ },
    repair: removeConfig,
  },
  {
    name: 'config.json is a link to a valid config elsewhere (links are not followed)',
    arrange(ctx) {
      writeFileSync(join(ctx.scratch, 'elsewhere.json'), '{"maxAttempts": 5}');
      symlinkSync(join(ctx.scratch, 'elsewhere.json'), config(ctx));
    },
    expect: { code: 'BT_ERR_CONFIG_INVALID', message: /symbolic link/ },
    repair: removeConfig,
  },
  {
    name: 'config.json is a directory',
    arrange: (ctx) => mkdirSync(config(ctx)),
    expect: { code: 'BT_ERR_CONFIG_INVALID', message: /directory/ },
    repair: removeConfig,
  },
  {
    name: 'config.json is huge (2 MiB)',
    arrange: (ctx) => writeConfig(ctx, `{${' '.repeat(HUGE_CONFIG_BYTES)}}`),
    expect: { code: 'BT_ERR_CONFIG_INVALID', message: /bytes/ },
    repair: removeConfig,
  },
  {
    name: 'config.json is not JSON',
    arrange: (ctx) => writeConfig(ctx, '{"maxAttempts": 3,'),
    expect: { code: 'BT_ERR_CONFIG_INVALID', message: /not valid JSON/ },
    repair: removeConfig,
  },
  {
    name: 'config.json is empty',
    arrange: (ctx) => writeConfig(ctx, ''),
    expect: { code: 'BT_ERR_CONFIG_INVALID' },
    repair: removeConfig,
  },
  {
    name: 'config.json is a JSON array',
    arrange: (ctx) => writeConfig(ctx, '[1, 2]'),
    expect: { code: 'BT_ERR_CONFIG_INVALID' },
    repair: removeConfig,
  },
  {
    name: 'config.json is JSON null',
    arrange: (ctx) => writeConfig(ctx, 'null'),
    expect: { code: 'BT_ERR_CONFIG_INVALID' },
    repair: removeConfig,
  },
  {
    name: 'config.json has an unknown key',
    arrange: (ctx) => writeConfig(ctx, '{"maxAtempts": 3}'),
    expect: { code: 'BT_ERR_CONFIG_INVALID', message: /maxAtempts/ },
    repair: removeConfig,
  },
  {
    name: 'config.json has a value of the wrong type',
    arrange: (ctx) => writeConfig(ctx, '{"maxAttempts": "3"}'),
    expect: { code: 'BT_ERR_CONFIG_INVALID', message: /maxAttempts/ },
    repair: removeConfig,
  },
  {
    name: 'config.json has a negative number',
    arrange: (ctx) => writeConfig(ctx, '{"maxConcurrentTransfers": -1}'),
    expect: { code: 'BT_ERR_CONFIG_INVALID', message: /maxConcurrentTransfers/ },
    repair: removeConfig,
  },
  {
    name: 'config.json has a fraction where an integer goes',
    arrange: (ctx) => writeConfig(ctx, '{"stallTimeoutMs": 0.5}'),
    expect: { code: 'BT_ERR_CONFIG_INVALID', message: /stallTimeoutMs/ },
    repair: removeConfig,
  },
  {
    name: 'config.json has a proxy that is not an http(s) URL',
    arrange: (ctx) => writeConfig(ctx, '{"proxy": "socks5://127.0.0.1:1"}'),
    expect: { code: 'BT_ERR_CONFIG_INVALID', message: /proxy/ },
    repair: removeConfig,
  },
  {
    name: 'config.json names a CA file that does not exist',
    arrange: (ctx) => writeConfig(ctx, JSON.stringify({ extraCaCertificates: [join(ctx.scratch, 'no-such-ca.pem')] })),
    expect: { code: 'BT_ERR_CONFIG_INVALID', message: /no-such-ca\.pem/ },
    repair: removeConfig,
  },
  {
    name: 'config.json names /dev/zero as a CA file',
    arrange: (ctx) => writeConfig(ctx, '{"extraCaCertificates": ["/dev/zero"]}'),
    expect: { code: 'BT_ERR_CONFIG_INVALID', message: /character device/ },
    repair: removeConfig,
  },
  {
    name: 'config.json becomes a FIFO while the host runs: it keeps serving',
    arrange: () => undefined,
    act: (ctx) => whileRunning(ctx, () => mkfifo(config(ctx))),
    expect: { serves: true },
    repair: removeConfig,
  },
  {
    name: 'config.json becomes a link to /dev/zero while the host runs: it keeps serving',
    arrange: () => undefined,
    act: (ctx) => whileRunning(ctx, () => symlinkSync('/dev/zero', config(ctx))),
    expect: { serves: true },
    repair: removeConfig,
  },
  // ---- the store
  storeRow(
    'the store is emptied to 0 bytes',
    (ctx) => writeFileSync(homeFiles(ctx.home).db, ''),
    'BT_ERR_STORE_REPLACED',
  ),
  storeRow('the store is deleted', () => undefined, 'BT_ERR_STORE_REPLACED'),
  storeRow(
    'the store is garbage',
    (ctx) => writeFileSync(homeFiles(ctx.home).db, Buffer.alloc(8192, 0x5a)),
    'BT_ERR_STORE',
  ),
  storeRow('the store is a directory', (ctx) => mkdirSync(homeFiles(ctx.home).db), 'BT_ERR_STORE'),
  storeRow('the store is a FIFO', (ctx) => mkfifo(homeFiles(ctx.home).db), 'BT_ERR_STORE'),
  storeRow(
    'the store is a link to the real database',
    (ctx) => symlinkSync(join(ctx.scratch, 'bgtransfer.db'), homeFiles(ctx.home).db),
    'BT_ERR_HOME_UNSAFE',
  ),
  storeRow(
    'the store is replaced by another SQLite database',
    (ctx) => {
      const other = new Database(homeFiles(ctx.home).db);
      other.exec('CREATE TABLE notes (text TEXT)');
      other.close();
    },
    'BT_ERR_STORE_REPLACED',
  ),
  {
    name: 'the store is replaced by the store of another home',
    async arrange(ctx) {
      const other = join(ctx.scratch, 'other-home');
      assert.equal((await appCall(other)).code, undefined);
      await stopHost(other);
      setStoreAside(ctx);
      renameSync(homeFiles(other).db, homeFiles(ctx.home).db);
    },
    expect: { code: 'BT_ERR_STORE_REPLACED', message: /another database/ },
    repair: restoreStore,
  },
  {
    name: 'the store was written by a newer release (schema version 99)',
    arrange(ctx) {
      const db = new Database(homeFiles(ctx.home).db);
      db.pragma('user_version = 99');
      db.close();
    },
    expect: { code: 'BT_ERR_STORE', message: /newer/ },
    repair(ctx) {
      const db = new Database(homeFiles(ctx.home).db);
      db.pragma(`user_version = ${LATEST_SCHEMA_VERSION}`);
      db.close();
    },
  },
  {
    name: 'the store id file holds garbage',
    arrange: (ctx) => writeFileSync(homeFiles(ctx.home).id, 'not an id'),
    expect: { code: 'BT_ERR_STORE_REPLACED' },
    repair: (ctx) => rmSync(homeFiles(ctx.home).id),
  },
  // ---- the home and the files the host keeps in it
  {
    name: 'BGTRANSFER_HOME is a symbolic link',
    arrange(ctx) {
      ctx.appHome = join(ctx.scratch, 'home-link');
      symlinkSync(ctx.home, ctx.appHome);
    },
    expect: { code: 'BT_ERR_HOME_UNSAFE', message: /symbolic link/ },
  },
  {
    name: 'BGTRANSFER_HOME has mode 0777',
    arrange: (ctx) => chmodSync(ctx.home, 0o777),
    expect: { code: 'BT_ERR_HOME_UNSAFE', message: /777/ },
    repair: (ctx) => chmodSync(ctx.home, 0o700),
  },
  {
    name: 'BGTRANSFER_HOME has mode 0720 (group-writable)',
    arrange: (ctx) => chmodSync(ctx.home, 0o720),
    expect: { code: 'BT_ERR_HOME_UNSAFE' },
    repair: (ctx) => chmodSync(ctx.home, 0o700),
  },
  {
    name: 'BGTRANSFER_HOME is owned by another user',
    arrange: (ctx) => chownSync(ctx.home, NOBODY_UID, NOBODY_UID),
    expect: { code: 'BT_ERR_HOME_UNSAFE', message: /owned by user/ },
    repair: (ctx) => chownSync(ctx.home, 0, 0),
  },
  {
    name: 'BGTRANSFER_HOME is a regular file',
    arrange(ctx) {
      ctx.appHome = join(ctx.scratch, 'home-file');
      writeFileSync(ctx.appHome, 'x');
    },
    expect: { code: 'BT_ERR_HOME_UNSAFE', message: /not a directory/ },
  },
  {
    name: 'host.log is a link to a file elsewhere, which stays untouched',
    arrange(ctx) {
      writeFileSync(join(ctx.scratch, 'victim'), 'precious\n');
      symlinkSync(join(ctx.scratch, 'victim'), join(ctx.home, 'host.log'));
    },
    expect: { code: 'BT_ERR_HOME_UNSAFE', message: /host\.log/ },
    check: (ctx) => assert.equal(readFileSync(join(ctx.scratch, 'victim'), 'utf8'), 'precious\n'),
    repair: (ctx) => rmSync(join(ctx.home, 'host.log')),
  },
  {
    name: 'host.log is a FIFO',
    arrange: (ctx) => mkfifo(join(ctx.home, 'host.log')),
    expect: { code: 'BT_ERR_HOME_UNSAFE', message: /host\.log/ },
    repair: (ctx) => rmSync(join(ctx.home, 'host.log')),
  },
  {
    name: 'the socket path holds a regular file, which is kept',
    arrange: (ctx) => writeFileSync(join(ctx.home, 'host.sock'), 'mine\n'),
    expect: { code: 'BT_ERR_HOME_UNSAFE', message: /host\.sock/ },
    check: (ctx) => assert.equal(readFileSync(join(ctx.home, 'host.sock'), 'utf8'), 'mine\n'),
    repair: (ctx) => rmSync(join(ctx.home, 'host.sock')),
  },
  {
    name: 'the response directory is a link elsewhere',
    arrange(ctx) {
      renameSync(join(ctx.home, 'responses'), join(ctx.scratch, 'responses'));
      symlinkSync(join(ctx.scratch, 'responses'), join(ctx.home, 'responses'));
    },
    expect: { code: 'BT_ERR_HOME_UNSAFE', message: /responses/ },
    repair(ctx) {
      rmSync(join(ctx.home, 'responses'));
      renameSync(join(ctx.scratch, 'responses'), join(ctx.home, 'responses'));
    },
  },
  {
    name: 'a stale engine lock (its process is gone)',
    arrange: (ctx) => writeFileSync(join(ctx.home, 'engine.lock'), '2147483646'),
    expect: { serves: true },
  },
  {
    name: 'the engine lock is a link to /dev/zero',
    arrange: (ctx) => symlinkSync('/dev/zero', join(ctx.home, 'engine.lock')),
    expect: { serves: true },
  },
  {
    name: 'a stale start lock (its starter is gone)',
    arrange: (ctx) => writeFileSync(join(ctx.home, 'host.starting'), '2147483646'),
    expect: { serves: true },
  },
  {
    name: 'the start lock is a link to /dev/zero',
    arrange: (ctx) => symlinkSync('/dev/zero', join(ctx.home, 'host.starting')),
    expect: { serves: true },
  },
  {
    name: 'a stale failure report from an earlier start (fixed since)',
    arrange: (ctx) =>
      writeFileSync(
        join(ctx.home, 'host.failed'),
        JSON.stringify({ pid: 2147483646, code: 'BT_ERR_CONFIG_INVALID', message: 'old', atMs: Date.now() - 60_000 }),
      ),
    expect: { serves: true },
  },
];
