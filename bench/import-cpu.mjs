// The library's own share of `import('bgtransfer')`: CPU (user + system) and wall of the import alone,
// measured inside the process, so Node's own start (`node -e 0`) is not in it. Prints "CPU_MS WALL_MS".
//
//   node bench/import-cpu.mjs TREE/dist/index.js
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const before = process.cpuUsage();
const started = performance.now();
await import(pathToFileURL(resolve(process.argv[2] ?? '')).href);
const used = process.cpuUsage(before);
console.log(((used.user + used.system) / 1000).toFixed(1), (performance.now() - started).toFixed(1));
