import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { hostStatus, stopHost } from '../../src/ipc/host-control.ts';
import { HOST_NODE_FLAGS } from '../../src/ipc/host-flags.ts';
import { spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

/**
 * The BUILT transfer host is light (npm run build first; npm test does it): the host an app starts runs
 * with the V8 flags of src/ipc/host-flags.ts on its command line, `bgtransfer host` run by hand sets
 * them at run time, a host an app started to list its uploads idles under 60 MB of resident memory,
 * and after 100 uploads under 95 MB.
 *
 * Measured on this 2-core machine (bench/host-weight.ts, docs/performance.md "Host and library
 * weight"): idle after 100 uploads 75.1 MiB (78.8 MB) with the flags, 86.4–98.5 MiB without. The
 * limit leaves room for a loaded machine's late garbage collections; the flags themselves are checked
 * exactly. Idle after start: 54.3 MiB (57.0 MB), without zod and with TurboFan held until the host
 * listens (core/optimizing-compiler.ts), whatever the install path's length.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
// A plain-JavaScript app on the built package (`bgtransfer` resolves to dist/): it starts the host.
const APP = join(ROOT, 'bench', 'many-uploads-once.mjs');
const UPLOADS = 100;
const IDLE_LIMIT_BYTES = 95 * 1000 * 1000;
/** The floor for a host that has done nothing yet but list (docs/performance.md, "Where it stands"). */
const IDLE_AT_START_LIMIT_BYTES = 60 * 1000 * 1000;
/** An app on the built package that lists its uploads, which starts the host, and exits. */
const LIST_APP =
  "import { BackgroundUploader, closeAsync } from 'bgtransfer'; await BackgroundUploader.getCurrentUploadsAsync(); await closeAsync();";
/** What applyHostFlags sets in a host started without the flags. */
const RUNTIME_FLAGS = [
  '--semi-space-growth-factor=1',
  '--liftoff-only',
  '--heap-growing-percent=20',
  '--no-concurrent-array-buffer-sweeping',
];

let temp: TempDir;
let server: UploadServer;

before(async () => {
  temp = await makeTempDir('host-weight-');
  server = await startUploadServer();
});
after(async () => {
  await server.close();
  await temp.cleanup();
});

function residentBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(match?.[1], `no ${field} for process ${pid}`);
  return Number(match[1]) * 1024;
}

test('the host an app starts has the light V8 flags, idles under 60 MB, and under 95 MB after 100 uploads', {
  timeout: 300_000,
}, async () => {
  const home = join(temp.path, 'spawned');
  const files = join(temp.path, 'files');
  mkdirSync(files);
  for (let index = 0; index < UPLOADS; index++) await writeRandomFile(files, `f${index}.bin`, 4096);
  const env = { BGTRANSFER_HOME: home, BGTRANSFER_HOST: 'auto', BGTRANSFER_APP_ID: 'host-weight' };
  const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
  try {
    const lister = spawnNode(['--input-type=module', '-e', LIST_APP], { env, cwd: ROOT, typescript: false });
    const listed = await lister.exited;
    assert.equal(listed.code, 0, `the listing app failed:\n${lister.stderrLines.join('\n')}`);
    const started = await hostStatus(home, { env: { ...process.env, ...env } });
    assert.ok(started, 'the listing app left its host running');
    await sleep(3_000);
    const atStart = residentBytes(started.pid, 'VmRSS');
    console.log(`host idle after start: ${mb(atStart)} MB`);
    assert.ok(atStart < IDLE_AT_START_LIMIT_BYTES, `idle RSS after start ${mb(atStart)} MB must stay under 60 MB`);

    const app = spawnNode([APP, 'none', `${server.url}/weight`, files, String(UPLOADS)], {
      env,
      cwd: ROOT,
      typescript: false,
    });
    const exit = await app.exited;
    assert.equal(exit.code, 0, `the app failed:\n${[...app.stdoutLines, ...app.stderrLines].join('\n')}`);
    assert.equal(app.stdoutLines.at(-1), `completed ${UPLOADS}`);

    const status = await hostStatus(home, { env: { ...process.env, ...env } });
    assert.ok(status, 'the app left its host running');
    const argv = readFileSync(`/proc/${status.pid}/cmdline`, 'utf8').split('\0');
    const script = argv.findIndex((arg) => arg.endsWith(join('dist', 'ipc', 'host-entry.js')));
    assert.ok(script > 0, `the built host script in ${argv.join(' ')}`);
    for (const flag of HOST_NODE_FLAGS) assert.ok(argv.slice(1, script).includes(flag), `${flag} in ${argv.join(' ')}`);

    await sleep(3_000);
    const idle = residentBytes(status.pid, 'VmRSS');
    console.log(
      `host idle after ${UPLOADS} uploads: ${mb(idle)} MB (peak ${mb(residentBytes(status.pid, 'VmHWM'))} MB)`,
    );
    assert.ok(idle < IDLE_LIMIT_BYTES, `idle RSS ${mb(idle)} MB must stay under ${mb(IDLE_LIMIT_BYTES)} MB`);
  } finally {
    await stopHost(home, { env: { ...process.env, ...env } }).catch(() => false);
  }
});

test('`bgtransfer host` run by hand sets the same flags at run time and logs them', { timeout: 120_000 }, async () => {
  const home = join(temp.path, 'by-hand');
  const host = spawnNode([CLI, 'host'], { env: { BGTRANSFER_HOME: home, BGTRANSFER_HOST: 'auto' }, typescript: false });
  try {
    const line = await host.waitForLine(/transfer host listening/, 60_000);
    assert.ok(line);
    const log = readFileSync(join(home, 'host.log'), 'utf8').split('\n').filter(Boolean);
    const starting = log.map((entry) => JSON.parse(entry) as { msg: string; v8Flags?: string[] });
    const flags = await waitFor('the start line', () =>
      starting.find((entry) => entry.msg === 'transfer host starting'),
    );
    assert.deepEqual(flags.v8Flags, RUNTIME_FLAGS);
    const argv = readFileSync(`/proc/${host.pid}/cmdline`, 'utf8').split('\0');
    for (const flag of HOST_NODE_FLAGS) assert.ok(!argv.includes(flag), 'set at run time, not on the command line');
  } finally {
    host.kill('SIGTERM');
    const exit = await host.exited;
    assert.equal(exit.code, 0);
  }
});
