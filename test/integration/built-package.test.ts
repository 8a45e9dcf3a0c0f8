import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { APP_SIDE_FORBIDDEN_PACKAGES, ENGINE_FOLDERS } from '../helpers/engine-side.ts';
import { runningHostArgv, spawnNode, stopBuiltHost } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';

/**
 * The built package (npm run build first; npm test does it) as users run it: `dist/` holds bundles
 * (scripts/bundle-dist.ts), so the structural checks of light-import.test.ts, which run the source, are
 * made again on what ships. dist/chunks/sources.json names the source files in each bundled file.
 * Plain Node, no TypeScript loader: `bgtransfer` resolves to dist/ by the package's exports.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'test', 'scripts', 'loaded-modules-built.mjs');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const SOURCES = join(ROOT, 'dist', 'chunks', 'sources.json');
const DIST_URL = new URL('dist/', `file://${ROOT}`).href;

let dir: TempDir;
let sources: Record<string, string[]>;
let runs = 0;

before(async () => {
  assert.ok(existsSync(SOURCES), `${SOURCES} is missing: run npm run build before this test`);
  sources = JSON.parse(readFileSync(SOURCES, 'utf8')) as Record<string, string[]>;
  dir = await makeTempDir('built-package-');
});

after(async () => {
  await dir.cleanup();
});

async function run(mode: string, home: string): Promise<{ dist: string[]; modules: string[]; output: string[] }> {
  runs += 1;
  const child = spawnNode([SCRIPT, mode, join(dir.path, `modules-${runs}.log`)], {
    cwd: ROOT,
    typescript: false,
    env: { BGTRANSFER_HOME: home, BGTRANSFER_HOST: undefined, BGTRANSFER_APP_ID: 'built-package' },
  });
  const exit = await child.exited;
  assert.equal(exit.code, 0, `loaded-modules-built.mjs ${mode} failed:\n${child.stderrLines.join('\n')}`);
  const line = child.stdoutLines.find((candidate) => candidate.startsWith('{"modules":'));
  assert.ok(line, `no module list in the output of ${mode}: ${child.stdoutLines.join('\n')}`);
  const modules = (JSON.parse(line) as { modules: string[] }).modules;
  const dist = modules.filter((url) => url.startsWith(DIST_URL)).map((url) => url.slice(DIST_URL.length));
  return { dist, modules, output: [...child.stdoutLines] };
}

/** The source files bundled into the given dist files; a dist file the bundle did not write fails. */
function sourcesOf(dist: readonly string[]): string[] {
  return dist.flatMap((file) => {
    const inputs = sources[file];
    assert.ok(inputs, `${file} was loaded but is not a file of the bundle (sources.json)`);
    return inputs;
  });
}

/** Packages loaded from node_modules or bundled into a loaded file. */
function packagesIn(modules: readonly string[], inputs: readonly string[]): string[] {
  return APP_SIDE_FORBIDDEN_PACKAGES.filter(
    (name) =>
      modules.some((url) => url.includes(`/node_modules/${name}/`)) ||
      inputs.some((input) => input.startsWith(`node_modules/${name}/`)),
  );
}

test("the built import('bgtransfer') loads bundles of the app-side classes only, fewer files than sources", {
  timeout: 60_000,
}, async () => {
  const { dist, modules } = await run('import', join(dir.path, 'home-import'));
  const inputs = sourcesOf(dist);
  assert.ok(inputs.includes('src/api/background-uploader.ts'), `the check sees the API: ${dist.join(' ')}`);
  assert.deepEqual(packagesIn(modules, inputs), []);
  assert.deepEqual(
    inputs.filter((input) => [...ENGINE_FOLDERS, 'src/ipc/', 'src/cli/'].some((folder) => input.startsWith(folder))),
    [],
  );
  // What the bundle is for: Node's loader opens fewer files than the import has source modules.
  assert.ok(dist.length < inputs.length / 2, `${dist.length} files loaded for ${inputs.length} source modules`);
});

test('an app on the built package starts the bundled host and talks to it without loading the engine', {
  timeout: 120_000,
}, async () => {
  const home = join(dir.path, 'home-host');
  const env = { BGTRANSFER_HOME: home, BGTRANSFER_HOST: 'auto', BGTRANSFER_APP_ID: 'built-package' };
  try {
    const { dist, modules, output } = await run('enumerate', home);
    assert.ok(output.includes('{"downloads":0}'), output.join('\n'));
    const inputs = sourcesOf(dist);
    assert.ok(inputs.includes('src/ipc/socket-port.ts'), `the socket client was loaded: ${dist.join(' ')}`);
    assert.deepEqual(packagesIn(modules, inputs), []);
    assert.deepEqual(
      inputs.filter((input) => ENGINE_FOLDERS.some((folder) => input.startsWith(folder))),
      [],
    );
    // The host it started runs the bundled entry; the bundled CLI reaches it.
    const argv = await runningHostArgv(CLI, { cwd: ROOT, env });
    assert.ok(argv.includes(join(ROOT, 'dist', 'ipc', 'host-entry.js')), argv.join(' '));
  } finally {
    await stopBuiltHost(CLI, home, { cwd: ROOT, env });
  }
});

test('the bundled CLI answers --version with the package version', { timeout: 60_000 }, async () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const child = spawnNode([CLI, '--version'], { cwd: ROOT, typescript: false });
  assert.equal((await child.exited).code, 0, child.stderrLines.join('\n'));
  assert.deepEqual(child.stdoutLines, [manifest.version]);
});

/**
 * The declaration files an app's type check reads: from the package's entry points (`types` of its
 * exports), following relative imports. Returns the packages they import, each with one file naming it.
 */
function declaredImports(): Map<string, string> {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, { types: string }>;
  };
  const pending = Object.values(manifest.exports).map((entry) => join(ROOT, entry.types));
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, specifier = ''] of text.matchAll(/(?:from\s+|import\()["']([^"']+)["']/g)) {
      if (specifier.startsWith('.')) pending.push(join(dirname(file), specifier.replace(/\.(ts|js)$/, '.d.ts')));
      else if (!packages.has(specifier)) packages.set(specifier, file.slice(ROOT.length));
    }
  }
  return packages;
}

test("the published types an app's type check reads need only the package's dependencies and Node's", () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  // Node's own modules come with @types/node, which any TypeScript app on Node has.
  const outside = [...declaredImports()].filter(
    ([name]) => !name.startsWith('node:') && !Object.hasOwn(manifest.dependencies, name.replace(/\/.*$/, '')),
  );
  assert.deepEqual(outside, [], 'packages the declarations import that an install of bgtransfer does not bring');
  // zod is for the tests' reference schemas only (test/schemas/).
  assert.equal(Object.hasOwn(manifest.dependencies, 'zod'), false);
});

test('no bundle holds or loads zod: the host, the CLI and the library check what they read by hand', () => {
  const outputs = Object.keys(sources);
  assert.ok(
    outputs.some((output) => output.startsWith('chunks/host-process')),
    outputs.join(' '),
  );
  for (const output of outputs) {
    assert.deepEqual(
      sources[output]?.filter((input) => input.startsWith('node_modules/zod/')),
      [],
      `${output} bundles zod`,
    );
    const text = readFileSync(join(ROOT, 'dist', output), 'utf8');
    assert.doesNotMatch(text, /(from |import\(|require\()\s*["']zod["']/, `${output} loads zod`);
  }
});
