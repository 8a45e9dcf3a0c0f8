// 'auto' against 'none' in one process, batches alternating: the two sides share the process, its
// warm-up and the machine's load of the moment, so a few percent show through a loaded machine that
// whole-process runs (bench/auto-paired.ts) cannot resolve. Per batch: CPU of this process
// (process.cpuUsage: user + system) and wall, for `batch` uploads of 4 KiB, each its own file, to one
// plain node:http endpoint (in this process too: it costs both sides alike). A first batch of each
// side warms up (and lets 'auto' probe) and is not counted.
//
//   BGTRANSFER_HOST=inproc BGTRANSFER_HOME=$(mktemp -d) BGTRANSFER_APP_ID=bench \
//     node bench/auto-interleaved.mjs TREE [BATCH=200] [PAIRS=10]
// TREE: a built tree (its dist/index.js is loaded). Prints one JSON line.
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { interleavedEndpoint } from './interleaved-endpoint.mjs';

const [tree, batchArg = '200', pairsArg = '10'] = process.argv.slice(2);
const batch = Number(batchArg);
const pairs = Number(pairsArg);
const { BackgroundUploader, closeAsync } = await import(pathToFileURL(join(resolve(tree), 'dist/index.js')).href);

const endpoint = await interleavedEndpoint('bgtransfer-auto-interleaved-', batch);
const { dir, methods, url } = endpoint;

async function runBatch(protocol, label) {
  const uploader = new BackgroundUploader();
  uploader.method = 'PUT';
  uploader.resumeProtocol = protocol;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const operations = [];
  for (let index = 0; index < batch; index++) {
    operations.push(uploader.createUpload(`${url}/${label}/u${index}`, join(dir, `f${index}.bin`)));
  }
  const settled = await Promise.allSettled(operations.map((operation) => operation.startAsync()));
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const ok = settled.every(
    (result, index) => result.status === 'fulfilled' && operations[index].getResponseInformation()?.statusCode === 201,
  );
  return { protocol, ok, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

const load = [loadavg()[0]];
const samples = [];
try {
  await runBatch('none', 'warm-none');
  await runBatch('auto', 'warm-auto');
  for (let pair = 1; pair <= pairs; pair++) {
    const order = pair % 2 === 1 ? ['none', 'auto'] : ['auto', 'none'];
    for (const protocol of order) samples.push({ pair, ...(await runBatch(protocol, `${protocol}-${pair}`)) });
  }
} finally {
  await closeAsync();
  endpoint.close();
}
load.push(loadavg()[0]);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const ratios = [];
for (let pair = 1; pair <= pairs; pair++) {
  const none = samples.find((s) => s.pair === pair && s.protocol === 'none');
  const auto = samples.find((s) => s.pair === pair && s.protocol === 'auto');
  ratios.push({ cpu: auto.cpuMs / none.cpuMs, wall: auto.wallMs / none.wallMs });
}
const total = (protocol, key) => samples.filter((s) => s.protocol === protocol).reduce((sum, s) => sum + s[key], 0);
console.log(
  JSON.stringify({
    tree,
    batch,
    pairs,
    ok: samples.every((s) => s.ok),
    options: methods.get('OPTIONS') ?? 0,
    medianCpuRatio: median(ratios.map((r) => r.cpu)),
    medianWallRatio: median(ratios.map((r) => r.wall)),
    totalCpuRatio: total('auto', 'cpuMs') / total('none', 'cpuMs'),
    cpuMsPerUpload: { none: total('none', 'cpuMs') / (batch * pairs), auto: total('auto', 'cpuMs') / (batch * pairs) },
    load,
    samples,
  }),
);
