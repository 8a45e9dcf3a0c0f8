import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The second half of `npm run build`: after `tsc -p tsconfig.build.json` has written dist/ file by file
 * (the .d.ts files, and modules a script may import by path), the entry points are replaced by bundles.
 *
 *   node --import tsx scripts/bundle-dist.ts
 *
 * Why: Node's ESM loader costs about as much per module (resolve, package scope lookup, open, read,
 * compile) as a small module's own code, and `import('bgtransfer')` loaded 45 of them. Bundled with
 * code splitting, each entry is one file plus the chunks it shares with its lazy parts, and every dynamic
 * `import()` (the two ports in api/port-provider.ts, the CLI's lazy commands) stays a lazy chunk.
 *
 * Packages in node_modules stay external (better-sqlite3 is native, and the lazy loads of pino and
 * undici, core/lazy-logger.ts and net/undici-parts.ts, go through createRequire, which resolves from
 * any file of the package). zod is not loaded at run time at all: what crosses the socket and
 * config.json are checked by hand (docs/architecture.md, "Checking what crosses the socket"), and
 * test/integration/built-package.test.ts checks that no bundle holds or loads it. Chunks sit in
 * dist/chunks/, two levels below the package root like dist/cli/ and dist/ipc/, so the paths computed from `import.meta.url` (cli/package-version.ts,
 * ipc/host-command.ts) hold from a chunk as from the per-file module.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');

/**
 * Output name (under dist/, without .js) → source, in three builds: everything spawned or imported by
 * path. A process runs one of them only (an app imports the library; the CLI and the host are processes
 * of their own, and nothing in src/ imports the package by name), so no process holds two copies of a
 * module. Built together, esbuild split the shared code by every combination of the CLI's and the
 * host's lazy imports that use it, and `import('bgtransfer')` opened 18 files instead of 6.
 */
const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};
const EXTERNAL = Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies }).flatMap((name) => [
  name,
  `${name}/*`,
]);

const BUILDS: Record<string, string>[] = [
  { index: 'src/index.ts', winrt: 'src/winrt.ts' },
  { 'cli/main': 'src/cli/main.ts' },
  { 'ipc/host-entry': 'src/ipc/host-entry.ts' },
];

await rm(join(DIST, 'chunks'), { recursive: true, force: true });
// Which source files each output holds (dist/chunks/sources.json): test/integration/built-package.test.ts
// checks with it that the built package loads the engine's code only where the source does.
const sources: Record<string, string[]> = {};
for (const entryPoints of BUILDS) {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(Object.entries(entryPoints).map(([name, source]) => [name, join(ROOT, source)])),
    outdir: DIST,
    // Named by content hash: two builds write the same name only for the same bytes.
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    external: EXTERNAL,
    sourcemap: 'linked',
    // Kept readable: a stack trace from an installed package should name the functions it passes.
    minify: false,
    metafile: true,
    logLevel: 'warning',
  });
  for (const [output, { inputs }] of Object.entries(result.metafile.outputs)) {
    if (!output.endsWith('.js')) continue;
    const name = relative(DIST, join(ROOT, output));
    // A bundled package's files by their path from node_modules/, wherever that directory is.
    const files = Object.keys(inputs)
      .map((input) => input.replace(/^.*?node_modules\//, 'node_modules/'))
      .sort();
    if (sources[name] && sources[name].join() !== files.join()) throw new Error(`two builds wrote ${name}`);
    sources[name] = files;
  }
}
await writeFile(join(DIST, 'chunks', 'sources.json'), `${JSON.stringify(sources, null, 1)}\n`);
const chunks = Object.keys(sources).filter((output) => output.startsWith('chunks'));
console.log(`bundled ${BUILDS.length} builds into dist/ with ${chunks.length} chunks`);
