// The measured side of bench/host-list.ts: the built package (dist/, no TypeScript loader), as an app
// would run it, against the transfer host of BGTRANSFER_HOME. argv: REPEATS. Prints one JSON line:
// the first getCurrentUploadsAsync() of this process (connect included), then REPEATS more on the open
// connection, each in milliseconds, with the count of operations and this process's CPU time.
import { BackgroundUploader, closeAsync } from 'bgtransfer';

const repeats = Number(process.argv[2] ?? '3');
let started = performance.now();
const first = await BackgroundUploader.getCurrentUploadsAsync();
const coldMs = performance.now() - started;
const warmMs = [];
for (let index = 0; index < repeats; index++) {
  started = performance.now();
  await BackgroundUploader.getCurrentUploadsAsync();
  warmMs.push(performance.now() - started);
}
const usage = process.resourceUsage();
console.log(
  JSON.stringify({
    type: 'result',
    operations: first.size,
    coldMs,
    warmMs,
    cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
    maxRssBytes: usage.maxRSS * 1024,
  }),
);
await closeAsync();
