// The built package as an app runs it (plain Node, `import 'bgtransfer'` resolving to dist/), printing
// which modules that loaded as one JSON line `{"modules":[…]}` (file URLs of every ES module resolved
// and every CommonJS module required). Used by test/integration/built-package.test.ts.
//
//   node test/scripts/loaded-modules-built.mjs MODE LOG_FILE
//
// MODE: `import` (import 'bgtransfer' only), `enumerate` (list the app's downloads through the transfer
// host, BGTRANSFER_HOST=auto, which starts the built host if none runs; prints `{"downloads":N}` first).
import { readFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const [mode, logFile] = process.argv.slice(2);
if (mode === undefined || logFile === undefined) throw new Error('usage: loaded-modules-built.mjs MODE LOG_FILE');

// Module hooks run on their own thread; a synchronous append keeps every resolution in the file
// by the time the awaited import below has settled.
const hooks = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(logFile)}, result.url + '\\n');
  return result;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

if (mode === 'import') {
  await import('bgtransfer');
} else if (mode === 'enumerate') {
  process.env.BGTRANSFER_HOST = 'auto';
  const { BackgroundDownloader, closeAsync } = await import('bgtransfer');
  const downloads = await BackgroundDownloader.getCurrentDownloadsAsync();
  console.log(JSON.stringify({ downloads: downloads.length }));
  await closeAsync();
} else {
  throw new Error(`unknown mode ${mode}`);
}

const esm = readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
const cjs = Object.keys(createRequire(import.meta.url).cache).map((path) => `file://${path}`);
console.log(JSON.stringify({ modules: [...new Set([...esm, ...cjs])] }));
