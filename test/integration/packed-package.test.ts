import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runningHostArgv, spawnNode, stopBuiltHost } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';

/**
 * The package as npm publishes it (npm run build first; npm test does it): `npm pack` of this checkout,
 * unpacked into an app's node_modules beside the package's runtime dependencies only, then used the way
 * a user would. built-package.test.ts runs dist/ inside the checkout, where a file missing from the
 * tarball, or a development dependency loaded at run time, would go unnoticed.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};

let dir: TempDir;
let app: string;
let installed: string;
let shipped: string[];
let server: Server;
let received: Buffer[] = [];

before(async () => {
  dir = await makeTempDir('packed-package-');
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', dir.path], { cwd: ROOT, encoding: 'utf8' }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = packed[0];
  assert.ok(tarball, 'npm pack wrote no tarball');
  shipped = tarball.files.map((file) => file.path);
  app = join(dir.path, 'app');
  installed = join(app, 'node_modules', 'bgtransfer');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(dir.path, tarball.filename), '-C', installed, '--strip-components=1']);
  // The runtime dependencies, as an install would put them beside the package; nothing else of ours.
  for (const name of Object.keys(manifest.dependencies)) {
    mkdirSync(join(app, 'node_modules', name, '..'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', name), join(app, 'node_modules', name), 'dir');
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'packed-app', private: true, type: 'module' }));
  copyFileSync(join(ROOT, 'test', 'scripts', 'upload-once.mjs'), join(app, 'upload-once.mjs'));
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received = chunks;
      response.writeHead(request.method === 'PUT' ? 201 : 405, { 'content-length': '0' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await dir.cleanup();
});

test('the tarball holds the bundles, their source maps and the declarations, not the per-file build', () => {
  const entries = ['dist/index.js', 'dist/winrt.js', 'dist/cli/main.js', 'dist/ipc/host-entry.js'];
  for (const entry of entries) assert.ok(shipped.includes(entry), `${entry} is not in the tarball`);
  const unexpected = shipped.filter(
    (path) =>
      !(
        entries.includes(path) ||
        entries.includes(path.replace(/\.map$/, '')) ||
        path.startsWith('dist/chunks/') ||
        path.endsWith('.d.ts') ||
        ['package.json', 'README.md', 'LICENSE'].includes(path)
      ),
  );
  assert.deepEqual(unexpected, []);
});

test('an app on the unpacked tarball uploads a file through the host it starts from the package', {
  timeout: 120_000,
}, async () => {
  const home = join(dir.path, 'home');
  const env = { BGTRANSFER_HOME: home, BGTRANSFER_HOST: undefined, BGTRANSFER_APP_ID: 'packed-app' };
  const cli = join(installed, 'dist', 'cli', 'main.js');
  const file = join(dir.path, 'payload.bin');
  const payload = randomBytes(300_000);
  writeFileSync(file, payload);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/packed`;
  try {
    const upload = spawnNode([join(app, 'upload-once.mjs'), 'PUT', url, file], { cwd: app, typescript: false, env });
    assert.equal((await upload.exited).code, 0, upload.stderrLines.join('\n'));
    assert.deepEqual(upload.stdoutLines, ['completed 5']);
    assert.ok(Buffer.concat(received).equals(payload), 'the server received other bytes than the file');
    // The host that served it runs the packed entry, and the packed CLI reaches it.
    const argv = await runningHostArgv(cli, { cwd: app, env });
    assert.ok(argv.includes(join(installed, 'dist', 'ipc', 'host-entry.js')), argv.join(' '));
  } finally {
    await stopBuiltHost(cli, home, { cwd: app, env });
  }
});

test('the packed CLI prints its version and the packed winrt entry loads', { timeout: 60_000 }, async () => {
  const version = spawnNode([join(installed, 'dist', 'cli', 'main.js'), '--version'], { cwd: app, typescript: false });
  assert.equal((await version.exited).code, 0, version.stderrLines.join('\n'));
  assert.deepEqual(version.stdoutLines, [manifest.version]);
  const winrt = spawnNode(
    [
      '--input-type=module',
      '-e',
      "const { Windows } = await import('bgtransfer/winrt'); console.log(typeof Windows.Networking.BackgroundTransfer.BackgroundDownloader)",
    ],
    { cwd: app, typescript: false },
  );
  assert.equal((await winrt.exited).code, 0, winrt.stderrLines.join('\n'));
  assert.deepEqual(winrt.stdoutLines, ['function']);
});
