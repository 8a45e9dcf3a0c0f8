// An in-process engine's start as an app pays it: `import('bgtransfer')`, the engine's open with its
// store (BGTRANSFER_HOST=inproc) and one enumeration, then close. Prints the process's CPU ms for that,
// measured inside the process so Node's own start is not in it. Give each run a fresh BGTRANSFER_HOME.
//
//   BGTRANSFER_HOST=inproc BGTRANSFER_HOME=$(mktemp -d) node bench/inproc-open-cpu.mjs TREE/dist/index.js
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const before = process.cpuUsage();
const { BackgroundDownloader, closeAsync } = await import(pathToFileURL(resolve(process.argv[2] ?? '')).href);
await BackgroundDownloader.getCurrentDownloadsAsync();
await closeAsync();
const used = process.cpuUsage(before);
console.log(((used.user + used.system) / 1000).toFixed(1));
