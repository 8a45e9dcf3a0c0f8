import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { APP_SIDE_FORBIDDEN_PACKAGES, ENGINE_FOLDERS } from '../helpers/engine-side.ts';
import { spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';

/**
 * The library is light where it can be: `import('bgtransfer')` loads the app-side classes only, an app
 * that talks to the transfer host loads the socket client but never the engine, SQLite, undici or the
 * protocols, and `bgtransfer --version` loads nothing of the command tree. Structural (which modules a
 * child process loaded), not timed; bench/ measures the time and memory this saves.
 */

const SCRIPT = fileURLToPath(new URL('../scripts/loaded-modules.ts', import.meta.url));

let dir: TempDir;
let runs = 0;

before(async () => {
  dir = await makeTempDir('light-import-');
});

after(async () => {
  await dir.cleanup();
});

async function loadedModules(
  mode: string,
  ...args: string[]
): Promise<{ modules: string[]; output: readonly string[] }> {
  runs += 1;
  const child = spawnNode([SCRIPT, mode, join(dir.path, `modules-${runs}.log`), ...args], {
    env: { BGTRANSFER_HOME: join(dir.path, `home-${runs}`), BGTRANSFER_HOST: undefined },
  });
  const exit = await child.exited;
  assert.equal(exit.code, 0, `loaded-modules.ts ${mode} failed:\n${child.stderrLines.join('\n')}`);
  const line = child.stdoutLines.find((candidate) => candidate.startsWith('{"modules":'));
  assert.ok(line, `no module list in the output of ${mode}: ${child.stdoutLines.join('\n')}`);
  return { modules: (JSON.parse(line) as { modules: string[] }).modules, output: child.stdoutLines };
}

function packagesIn(modules: readonly string[], names: readonly string[]): string[] {
  return names.filter((name) => modules.some((url) => url.includes(`/node_modules/${name}/`)));
}

function foldersIn(modules: readonly string[], folders: readonly string[]): string[] {
  return folders.filter((folder) => modules.some((url) => url.includes(`/${folder}`)));
}

test("import('bgtransfer') loads neither the engine nor the socket client", { timeout: 60_000 }, async () => {
  const { modules } = await loadedModules('import');
  assert.ok(
    modules.some((url) => url.endsWith('/src/api/background-uploader.ts')),
    'the check sees the modules it should',
  );
  assert.deepEqual(packagesIn(modules, APP_SIDE_FORBIDDEN_PACKAGES), []);
  assert.deepEqual(foldersIn(modules, [...ENGINE_FOLDERS, 'src/ipc/', 'src/cli/']), []);
});

test('an app that talks to the transfer host never loads the engine, zod or pino', { timeout: 60_000 }, async () => {
  const { modules } = await loadedModules('socket-port');
  assert.ok(
    modules.some((url) => url.endsWith('/src/ipc/socket-port.ts')),
    'the socket client was loaded',
  );
  assert.deepEqual(packagesIn(modules, APP_SIDE_FORBIDDEN_PACKAGES), []);
  assert.deepEqual(foldersIn(modules, ENGINE_FOLDERS), []);
});

test('in-process mode loads the engine (the check above can see it), not pino or zod', {
  timeout: 60_000,
}, async () => {
  const { modules } = await loadedModules('inproc-port');
  // undici is loaded at the first transfer (src/net/undici-parts.ts), not when the engine opens; pino
  // at the engine's first line that passes the level (core/lazy-logger.ts), none here. zod not at all:
  // the store reads its rows by hand (store/column-checks.ts, core/extras-read.ts), config.json is
  // absent, and the wire schemas are the host's.
  assert.deepEqual(packagesIn(modules, ['better-sqlite3', 'undici', 'pino', 'zod']), ['better-sqlite3']);
  assert.deepEqual(foldersIn(modules, ['src/engine/', 'src/store/']), ['src/engine/', 'src/store/']);
  // The app's own calls cross no trust boundary in-process: the wire modules are the host's and the
  // server's, not the in-process port's.
  const wire = modules.filter((url) => /\/src\/ipc\/(methods|protocol|host-server)\.ts$/.test(url));
  assert.deepEqual(wire, []);
});

test('the transfer host serves an upload and an enumeration without zod', { timeout: 60_000 }, async () => {
  const { modules, output } = await loadedModules('host');
  assert.ok(output.includes(JSON.stringify({ status: 5, uploads: 1 })), output.join('\n'));
  assert.ok(
    modules.some((url) => url.endsWith('/src/ipc/request-check.ts')),
    'the check sees the host checking requests',
  );
  // The host checks every request by hand (ipc/request-check.ts); the zod schemas of
  // test/schemas/method-schemas.ts are the reference its unit test holds it to.
  assert.deepEqual(packagesIn(modules, ['zod']), []);
  assert.deepEqual(
    modules.filter((url) => /\/src\/(ipc\/methods|core\/operation-extras)\.ts$/.test(url)),
    [],
  );
});

test('no system bus socket: the network monitor falls back without loading dbus-next', {
  timeout: 60_000,
}, async () => {
  const missing = await loadedModules('network-monitor', `unix:path=${join(dir.path, 'no-bus-here')}`);
  assert.ok(
    missing.output.some((line) => line.includes('"source":"assumed"')),
    missing.output.join('\n'),
  );
  assert.deepEqual(packagesIn(missing.modules, ['dbus-next']), []);
  // The check can see it: an address it cannot rule out (an abstract socket) is left to dbus-next.
  const abstract = await loadedModules('network-monitor', `unix:abstract=bgtransfer-no-bus-${process.pid}`);
  assert.deepEqual(packagesIn(abstract.modules, ['dbus-next']), ['dbus-next']);
});

test('bgtransfer --version loads nothing of the command tree', { timeout: 60_000 }, async () => {
  const { modules, output } = await loadedModules('version');
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.equal(output[0], manifest.version);
  assert.deepEqual(packagesIn(modules, APP_SIDE_FORBIDDEN_PACKAGES), []);
  assert.deepEqual(foldersIn(modules, ['src/api/', 'src/ipc/', 'src/cli/commands/']), []);
});
