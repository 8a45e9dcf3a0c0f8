// 'auto' against 'none' through one running transfer host, batches alternating: both sides share the
// host, its warm-up and the machine's load of the moment, so the host's CPU per upload in each mode
// can be compared on a loaded machine where whole-run benches (bench/host-small-uploads.ts) move by
// ±20% between runs of the same code. Per batch: the host's CPU (utime + stime from /proc/<pid>/stat)
// and wall for `batch` uploads of 4 KiB, each its own file and its own URL path, to one plain node:http
// endpoint in this process. A first batch of each side warms up (and lets 'auto' probe the endpoint
// once) and is not counted. One tree per process: for before/after, alternate two trees in a loop.
//
//   node bench/host-auto-interleaved.mjs TREE [BATCH=1000] [PAIRS=4]
// TREE: a built tree (its dist/ is loaded, and starts the host from its dist/, in a fresh home).
// Writes bench/results/host-auto-interleaved-<timestamp>.json and prints a summary line.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { interleavedEndpoint } from './interleaved-endpoint.mjs';

const [treeArg, batchArg = '1000', pairsArg = '4'] = process.argv.slice(2);
if (!treeArg) throw new Error('usage: host-auto-interleaved.mjs TREE [BATCH] [PAIRS]');
const tree = resolve(treeArg);
const batch = Number(batchArg);
const pairs = Number(pairsArg);
const APP_ID = 'bench-auto-interleaved';
// Linux reports utime/stime in clock ticks of 1/100 s (USER_HZ) on every architecture Node runs on.
const TICK_MS = 10;

const endpoint = await interleavedEndpoint('bgtransfer-host-auto-', batch);
const { dir, methods, url } = endpoint;

function hostCpuMs(pid) {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** A fresh home and host, warm-up batches, then `pairs` pairs alternating their order. */
async function measure() {
  const home = join(dir, 'home');
  mkdirSync(home);
  writeFileSync(join(home, 'config.json'), `${JSON.stringify({ maxConcurrentTransfers: 16 })}\n`);
  process.env.BGTRANSFER_HOME = home;
  process.env.BGTRANSFER_APP_ID = APP_ID;
  delete process.env.BGTRANSFER_HOST;
  const lib = await import(pathToFileURL(join(tree, 'dist/index.js')).href);
  const { SocketPort } = await import(pathToFileURL(join(tree, 'dist/ipc/socket-port.js')).href);
  const { stopHost } = await import(pathToFileURL(join(tree, 'dist/ipc/host-control.js')).href);
  const port = new SocketPort(home, { env: process.env });
  const { pid } = await port.status(APP_ID);
  await port.close();

  async function runBatch(protocol, label) {
    const uploader = new lib.BackgroundUploader();
    uploader.method = 'PUT';
    uploader.resumeProtocol = protocol;
    const cpu = hostCpuMs(pid);
    const started = performance.now();
    const operations = [];
    for (let index = 0; index < batch; index++) {
      operations.push(uploader.createUpload(`${url}/${label}/u${index}`, join(dir, `f${index}.bin`)));
    }
    const settled = await Promise.allSettled(operations.map((operation) => operation.startAsync()));
    const wallMs = performance.now() - started;
    const hostMs = hostCpuMs(pid) - cpu;
    const ok = settled.every(
      (result, index) =>
        result.status === 'fulfilled' && operations[index].getResponseInformation()?.statusCode === 201,
    );
    return { protocol, ok, wallMs, hostCpuMs: hostMs };
  }

  const samples = [];
  const load = [loadavg()[0]];
  try {
    await runBatch('none', 'warm-none');
    await runBatch('auto', 'warm-auto');
    for (let pair = 1; pair <= pairs; pair++) {
      const order = pair % 2 === 1 ? ['none', 'auto'] : ['auto', 'none'];
      for (const protocol of order) samples.push({ pair, ...(await runBatch(protocol, `${protocol}-${pair}`)) });
    }
  } finally {
    await lib.closeAsync();
    await stopHost(home, { env: process.env, appId: APP_ID });
  }
  load.push(loadavg()[0]);
  const total = (protocol, key) => samples.filter((s) => s.protocol === protocol).reduce((sum, s) => sum + s[key], 0);
  const ratios = [];
  for (let pair = 1; pair <= pairs; pair++) {
    const none = samples.find((s) => s.pair === pair && s.protocol === 'none');
    const auto = samples.find((s) => s.pair === pair && s.protocol === 'auto');
    ratios.push(auto.hostCpuMs / none.hostCpuMs);
  }
  return {
    tree: basename(tree),
    ok: samples.every((s) => s.ok),
    hostCpuMsPerUpload: {
      none: total('none', 'hostCpuMs') / (batch * pairs),
      auto: total('auto', 'hostCpuMs') / (batch * pairs),
    },
    totalHostCpuRatio: total('auto', 'hostCpuMs') / total('none', 'hostCpuMs'),
    medianPairRatio: median(ratios),
    pairRatios: ratios,
    load,
    samples,
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const startedAt = new Date();
let result;
try {
  result = await measure();
} finally {
  endpoint.close();
}
const { none, auto } = result.hostCpuMsPerUpload;
console.log(
  `${tree}: ok ${result.ok}, host CPU ms/upload none ${none.toFixed(3)} auto ${auto.toFixed(3)}, ` +
    `auto/none ${result.totalHostCpuRatio.toFixed(3)} (pairs ${result.pairRatios.map((r) => r.toFixed(2)).join(' ')}), ` +
    `load ${result.load.map((l) => l.toFixed(2)).join(' -> ')}`,
);
const file = new URL(
  `./results/host-auto-interleaved-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`,
  import.meta.url,
);
writeFileSync(
  file,
  `${JSON.stringify({ startedAt, batch, pairs, options: methods.get('OPTIONS') ?? 0, ...result }, null, 2)}\n`,
);
console.log(`results: ${file.pathname}`);
