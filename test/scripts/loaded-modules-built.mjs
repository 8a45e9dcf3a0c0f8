// The built package as an app runs it (plain Node, `import 'bgtransfer'` resolving to dist/), printing
// which modules that loaded as one JSON line `{"modules":[…]}` (file URLs of every ES module resolved
// and every CommonJS module required). Used by test/integration/built-package.test.ts.
//
//   node test/scripts/loaded-modules-built.mjs MODE LOG_FILE
//
// MODE: `import` (import 'bgtransfer' only), `enumerate` (list the app's downloads through the transfer
// host, BGTRANSFER_HOST=auto, which starts the built host if none runs; prints `{"downloads":N}` first).
import { recordedModules, recordModules } from './module-record.mjs';

const [mode, logFile] = process.argv.slice(2);
if (mode === undefined || logFile === undefined) throw new Error('usage: loaded-modules-built.mjs MODE LOG_FILE');

recordModules(logFile);

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

console.log(JSON.stringify({ modules: recordedModules(logFile) }));
