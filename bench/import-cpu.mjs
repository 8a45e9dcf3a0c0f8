// The library's own share of `import('bgtransfer')`: CPU (user + system) and wall of the import alone,
// measured inside the process, so Node's own start (`node -e 0`) is not in it. Prints "CPU_MS WALL_MS".
//
//   node bench/import-cpu.mjs TREE/dist/index.js
const before = process.cpuUsage();
const started = performance.now();
await import(process.argv[2]);
const used = process.cpuUsage(before);
console.log(((used.user + used.system) / 1000).toFixed(1), (performance.now() - started).toFixed(1));
