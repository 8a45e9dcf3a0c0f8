import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { homeLayout } from '../src/core/paths.ts';
import { stopHost } from '../src/ipc/host-control.ts';
import { SocketPort } from '../src/ipc/socket-port.ts';
import { SqliteOperationStore } from '../src/store/sqlite-store.ts';
import { median } from './stats.ts';
import { procStatTicks, type TimedRun, timedRun } from './timed-run.ts';

/**
 * Enumeration with many operations stored, through the built package's transfer host.
 *
 *   node --conditions=source --import tsx bench/host-list.ts [--count 10000] [--rounds 3] [--repeats 3]
 *     [--tree DIR]... [--profile DIR]
 *
 * A fresh BGTRANSFER_HOME gets `count` completed uploads written straight into its store (as 4 KiB
 * uploads leave them: response headers, digest). The built host (dist/, as an installed app runs it) is
 * started by a client and its RSS read while idle. Then, `rounds` times and alternating: `node -e 0`
 * (the floor of any spawn), `bgtransfer --version`, `bgtransfer list --json` (spawn to exit, under GNU
 * time), and a fresh built client process timing getCurrentUploadsAsync() once cold (connect
 * included) and `repeats` times on the open connection. The host's RSS (VmRSS, VmHWM) is read before
 * and after. Needs `npm run build`. Writes bench/results/host-list-<timestamp>.json.
 *
 * A paired run: `--tree DIR` once per built checkout to compare (e.g. a worktree of the commit before a
 * change, then this one). Each tree gets its own copy of the one seeded store and its own host, started
 * from its dist/; every round runs the trees one after the other, so both see the same machine. The
 * result then has one entry per tree in `trees`. `--profile DIR` writes a V8 CPU profile of each list
 * client process into DIR (`--cpu-prof`).
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const APP_ID = 'bgtransfer-bench-list';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '3' },
    repeats: { type: 'string', default: '3' },
    tree: { type: 'string', multiple: true },
    profile: { type: 'string' },
  },
});
const count = Number(values.count);
const rounds = Number(values.rounds);
const repeats = Number(values.repeats);
const profileDir = values.profile === undefined ? undefined : resolve(values.profile);

/** One built checkout under test: its CLI, its list client, its own home and host. */
interface Tree {
  root: string;
  commit: string;
  cli: string;
  client: string;
  home: string;
  env: NodeJS.ProcessEnv;
  hostPid: number;
  idle: { rss: number; hwm: number };
  nodeStart: TimedRun[];
  version: TimedRun[];
  cliList: TimedRun[];
  clients: ClientResult[];
  cliListHostCpuMs: number[];
  clientHostCpuMs: number[];
  printed: number;
}

interface ClientResult {
  operations: number;
  coldMs: number;
  warmMs: number[];
  cpuMs: number;
  maxRssBytes: number;
}

const startedAt = new Date();
const loadBefore = loadavg();
const base = await mkdtemp(join(tmpdir(), 'bgt-list-home-'));
const trees: Tree[] = (values.tree ?? [ROOT]).map((dir, index) => {
  const root = resolve(dir);
  const cli = join(root, 'dist/cli/main.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build there first (npm run bench does)`);
  const home = join(base, `home-${index}`);
  const env: NodeJS.ProcessEnv = { ...process.env, BGTRANSFER_HOME: home, BGTRANSFER_APP_ID: APP_ID };
  delete env.BGTRANSFER_HOST;
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  const client = join(root, 'bench/list-client-built.mjs');
  const empty = { nodeStart: [], version: [], cliList: [], clients: [], cliListHostCpuMs: [], clientHostCpuMs: [] };
  return { root, commit, cli, client, home, env, hostPid: 0, idle: { rss: 0, hwm: 0 }, printed: 0, ...empty };
});
try {
  let started = performance.now();
  const seeded = join(base, 'seeded');
  await seed(homeLayout(seeded).database, count);
  for (const tree of trees) await cp(seeded, tree.home, { recursive: true });
  note(`stored ${count} completed uploads in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  for (const tree of trees) {
    // An enumeration of an empty group starts the built host without listing anything.
    started = performance.now();
    const starter = await timedRun(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { BackgroundUploader, closeAsync } from 'bgtransfer'; await BackgroundUploader.getCurrentUploadsAsync('none'); await closeAsync();",
      ],
      { env: tree.env, cwd: tree.root },
    );
    if (starter.exitCode !== 0) throw new Error(`the built client could not start a host: ${starter.stderr}`);
    tree.hostPid = await hostPidOf(tree);
    await sleep(2_000);
    tree.idle = readRss(tree.hostPid);
    note(
      `${tree.commit}: host ${tree.hostPid} started in ${(performance.now() - started).toFixed(0)} ms; ` +
        `idle VmRSS ${mib(tree.idle.rss)} MiB`,
    );
  }

  const profileArgs = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];
  for (let round = 0; round < rounds; round++) {
    for (const tree of trees) {
      const { env, hostPid } = tree;
      tree.nodeStart.push(await timedRun(process.execPath, ['-e', '0'], { env }));
      tree.version.push(await timedRun(process.execPath, [tree.cli, '--version'], { env }));
      let hostCpu = readCpuMs(hostPid);
      const list = await timedRun(process.execPath, [tree.cli, 'list', '--json', '--app', APP_ID], { env });
      tree.cliListHostCpuMs.push(readCpuMs(hostPid) - hostCpu);
      if (list.exitCode !== 0) throw new Error(`bgtransfer list failed: ${list.stderr}`);
      tree.printed = list.stdout.split('\n').filter((line) => line.length > 0).length;
      tree.cliList.push({ ...list, stdout: '' });
      hostCpu = readCpuMs(hostPid);
      const client = await timedRun(process.execPath, [...profileArgs, tree.client, String(repeats)], {
        env,
        cwd: tree.root,
      });
      // 1 + repeats enumerations of every operation.
      tree.clientHostCpuMs.push((readCpuMs(hostPid) - hostCpu) / (1 + repeats));
      if (client.exitCode !== 0) throw new Error(`the list client failed: ${client.stderr}`);
      tree.clients.push(JSON.parse(client.stdout.trim().split('\n').at(-1) ?? '{}') as ClientResult);
      note(
        `round ${round + 1} ${tree.commit}: list --json ${(list.wallSeconds * 1000).toFixed(0)} ms (${tree.printed} lines), ` +
          `getCurrentUploadsAsync warm ${tree.clients
            .at(-1)
            ?.warmMs.map((ms) => ms.toFixed(0))
            .join(', ')} ms`,
      );
    }
  }

  const results = trees.map((tree) => {
    const after = readRss(tree.hostPid);
    const { clients, cliList, version, nodeStart, cliListHostCpuMs, clientHostCpuMs } = tree;
    const summary = {
      operations: clients[0]?.operations,
      cliListLines: tree.printed,
      warmListMs: median(clients.flatMap((client) => client.warmMs)),
      coldListMs: median(clients.map((client) => client.coldMs)),
      cliListWallMs: median(cliList.map((run) => run.wallSeconds * 1000)),
      cliListCpuMs: median(cliList.map((run) => run.cpuSeconds * 1000)),
      cliListHostCpuMs: median(cliListHostCpuMs),
      clientCpuMsPerList: median(clients.map((client) => client.cpuMs / (1 + repeats))),
      hostCpuMsPerList: median(clientHostCpuMs),
      cliVersionWallMs: median(version.map((run) => run.wallSeconds * 1000)),
      nodeStartWallMs: median(nodeStart.map((run) => run.wallSeconds * 1000)),
      hostIdleRssMiB: mib(tree.idle.rss),
      hostRssAfterMiB: mib(after.rss),
      hostHwmMiB: mib(after.hwm),
      clientMaxRssMiB: median(clients.map((client) => mib(client.maxRssBytes))),
    };
    printSummary(`${tree.commit} (${tree.root})`, summary);
    return {
      commit: tree.commit,
      root: tree.root,
      summary,
      clients,
      cliList: cliList.map(({ wallSeconds, cpuSeconds, maxRssBytes }, index) => ({
        wallSeconds,
        cpuSeconds,
        maxRssBytes,
        hostCpuMs: cliListHostCpuMs[index],
      })),
      clientHostCpuMsPerList: clientHostCpuMs,
      version: version.map(({ wallSeconds, cpuSeconds }) => ({ wallSeconds, cpuSeconds })),
      nodeStart: nodeStart.map(({ wallSeconds, cpuSeconds }) => ({ wallSeconds, cpuSeconds })),
    };
  });
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const path = join(dir, `host-list-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const result = {
    benchmark: 'host-list',
    date: startedAt.toISOString(),
    conditions: { count, rounds, repeats, host: 'built package (dist/), started by a built client' },
    environment: {
      node: process.version,
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      loadBefore,
      loadAfter: loadavg(),
    },
    // One tree: its results at the top level, as before paired runs existed.
    ...(results.length === 1 ? results[0] : { trees: results }),
  };
  await writeFile(path, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nresults: ${path}`);
} finally {
  for (const tree of trees) await stopHost(tree.home, { env: tree.env, appId: APP_ID }).catch(() => false);
  await rm(base, { recursive: true, force: true });
}

function printSummary(title: string, summary: Record<string, number | undefined>): void {
  const ms = (key: string): string => (summary[key] ?? Number.NaN).toFixed(0);
  console.log(`\nEnumeration with ${count} stored, built package ${title} (medians of ${rounds} rounds)\n`);
  console.log('| measure | median | floor |');
  console.log('|---|---|---|');
  console.log(`| getCurrentUploadsAsync() on an open connection | ${ms('warmListMs')} ms | 150 ms |`);
  console.log(`| getCurrentUploadsAsync() first call (connect included) | ${ms('coldListMs')} ms | |`);
  console.log(`| \`bgtransfer list --json\`, spawn to exit | ${ms('cliListWallMs')} ms | 500 ms |`);
  console.log(
    `| \`bgtransfer list --json\` CPU: the CLI process / the host | ${ms('cliListCpuMs')} / ${ms('cliListHostCpuMs')} ms | |`,
  );
  console.log(
    `| getCurrentUploadsAsync() CPU per call: client process (start-up share included) / host | ${ms('clientCpuMsPerList')} / ${ms('hostCpuMsPerList')} ms | |`,
  );
  console.log(`| \`bgtransfer --version\`, spawn to exit | ${ms('cliVersionWallMs')} ms | |`);
  console.log(`| \`node -e 0\`, spawn to exit | ${ms('nodeStartWallMs')} ms | |`);
  console.log(`| host VmRSS idle (${count} stored) | ${ms('hostIdleRssMiB')} MiB | 60 MB |`);
  console.log(
    `| host VmRSS / VmHWM after the enumerations | ${ms('hostRssAfterMiB')} / ${ms('hostHwmMiB')} MiB | 150 MB |`,
  );
}

/** Completed 4 KiB uploads as the engine leaves them, committed a batch per turn. */
async function seed(database: string, total: number): Promise<void> {
  const store = SqliteOperationStore.open(database, {
    groupCommit: { onError: (error) => console.error(error) },
  });
  try {
    for (let index = 0; index < total; index++) {
      const guid = `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;
      store.insertOperation({
        guid,
        appId: APP_ID,
        method: 'PUT',
        requestedUri: `http://127.0.0.1:40000/u/${index}`,
        sourcePath: `/tmp/bgt-small/files/f${index}.bin`,
        headers: [],
        costPolicy: 0,
        priority: 0,
        group: null,
        transferGroup: null,
        sourceSize: 4096,
        sourceMtimeMs: 1_765_000_000_000,
        sourceIno: 1_000_000 + index,
        createdAtMs: 1_765_000_000_000 + index,
      });
      store.moveToRunning(guid);
      store.recordProgress(guid, { bytesSent: 4096, bytesReceived: 0, totalBytesToReceive: 0 });
      store.recordResponse(
        guid,
        {
          statusCode: 201,
          actualUri: `http://127.0.0.1:40000/u/${index}`,
          isResumable: false,
          headers: [
            ['date', 'Mon, 07 Dec 2026 00:00:00 GMT'],
            ['connection', 'keep-alive'],
            ['keep-alive', 'timeout=5'],
            ['content-length', '0'],
          ],
        },
        0,
      );
      store.moveToCompleted(guid);
      if (index % 500 === 499) await nextTurn();
    }
  } finally {
    store.close();
  }
}

async function hostPidOf({ home, env }: Tree): Promise<number> {
  const port = new SocketPort(home, { env, autoStart: false });
  try {
    return (await port.status(APP_ID)).pid;
  } finally {
    await port.close();
  }
}

function readRss(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/** CPU time (user + system) a process has used so far, from /proc (clock ticks of 10 ms). */
function readCpuMs(pid: number): number {
  const { user, system } = procStatTicks(`/proc/${pid}/stat`);
  return (user + system) * 10;
}

function mib(bytes: number): number {
  return bytes / 1024 / 1024;
}

function note(message: string): void {
  process.stderr.write(`${message}\n`);
}
