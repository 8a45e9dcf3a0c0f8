import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listenOnLoopback } from '../test/helpers/loopback.ts';
import type { Sample } from './summary-report.ts';
import { timedRun } from './timed-run.ts';
import { type ClientName, prepareClients } from './tus-bench-clients.ts';
import { startLeanTusServer } from './tus-lean-server.ts';

/**
 * The tus and `resumeProtocol` rows of `npm run bench` (bench/summary.ts), as Samples of the same
 * table: every run a process under GNU time (CPU = user + system, peak RSS = ru_maxrss), the two
 * sides alternating in each round.
 *
 * - **tus:** one upload of the bench file by tus-js-client 4.3.1 (file stream, one PATCH) and by
 *   bgtransfer (`resumeProtocol 'tus'`, in-process, the package built with tsc) to the lean tus server
 *   (bench/tus-lean-server.ts, in this process: a running sha-256, nothing stored). A run counts only
 *   if the server hashed the whole file right. Its "wall" is the app's own transfer time (new Upload /
 *   createUpload until success), without Node's start-up, which both pay alike.
 * - **auto vs none:** `count` uploads of 4 KiB, each its own file, to one endpoint (a plain node:http
 *   server: PUT → 201, OPTIONS → 200 without tus or IETF headers) by the built package in-process
 *   (bench/many-uploads-once.mjs), with `resumeProtocol 'none'` and with `'auto'` (whose probe result
 *   the endpoint memory keeps). Wall time is the whole process.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MANY = join(ROOT, 'bench/many-uploads-once.mjs');
const RETRY_DELAY_MS = 100;

export async function tusSamples(workDir: string, file: string, sha256: string, rounds: number): Promise<Sample[]> {
  const setup = await prepareClients(join(workDir, 'tus-apps'), 'built');
  const server = await startLeanTusServer();
  const samples: Sample[] = [];
  try {
    const clients: ClientName[] = ['tus-js-client', 'bgtransfer'];
    for (let round = 1; round <= rounds; round++) {
      for (const client of round % 2 === 1 ? clients : [...clients].reverse()) {
        const home = join(workDir, `tus-home-${client}-${round}`);
        await mkdir(home, { recursive: true });
        await writeFile(join(home, 'config.json'), JSON.stringify({ retryBaseDelayMs: RETRY_DELAY_MS }));
        const run = await timedRun(process.execPath, [setup.scripts[client], file, server.endpoint, '100'], {
          env: { ...process.env, BGTRANSFER_HOST: 'inproc', BGTRANSFER_HOME: home, BGTRANSFER_APP_ID: 'bench' },
        });
        await rm(home, { recursive: true, force: true });
        const line = run.stdout.split('\n').find((text) => text.startsWith('{"type"'));
        const result = (line === undefined ? {} : JSON.parse(line)) as {
          type?: string;
          transferSeconds?: number;
          uploadUrl?: string | null;
        };
        const upload = result.uploadUrl ? server.upload(result.uploadUrl) : undefined;
        if (result.uploadUrl) server.forget(result.uploadUrl);
        const ok = run.exitCode === 0 && result.type === 'result' && upload?.sha256 === sha256;
        const side = client === 'bgtransfer' ? 'tus: bgtransfer' : 'tus: tus-js-client';
        samples.push({
          group: 'tus',
          side,
          round,
          ok,
          wallSeconds: result.transferSeconds ?? Number.NaN,
          cpuSeconds: run.cpuSeconds,
          maxRssBytes: run.maxRssBytes,
        });
        // The same upload as the server saw it: POST arrival to the last byte (no client start-up).
        samples.push({
          group: 'tus',
          side: `${side} (server-seen)`,
          round,
          ok: ok && upload?.serverSeconds != null,
          wallSeconds: upload?.serverSeconds ?? Number.NaN,
          cpuSeconds: run.cpuSeconds,
          maxRssBytes: run.maxRssBytes,
        });
        log(side, round, ok, result.transferSeconds ?? Number.NaN, run.cpuSeconds);
        log(`${side} (server-seen)`, round, ok, upload?.serverSeconds ?? Number.NaN, run.cpuSeconds);
      }
    }
  } finally {
    await server.close();
  }
  return samples;
}

/** `count` files of 4,096 bytes, `f<index>.bin` in `dir` (made if missing): the many small uploads' sources. */
export async function writeSmallFiles(dir: string, count: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const bytes = Buffer.alloc(4096, 7);
  for (let index = 0; index < count; index++) await writeFile(join(dir, `f${index}.bin`), bytes);
}

/** A plain endpoint (201 to a PUT, 200 without Tus-Version to anything else) that counts the methods it saw. */
export function countingPlainServer(): { server: Server; methods: Map<string, number> } {
  const methods = new Map<string, number>();
  const server = createServer((req, res) => {
    methods.set(req.method ?? '?', (methods.get(req.method ?? '?') ?? 0) + 1);
    req.resume();
    req.on('end', () => res.writeHead(req.method === 'PUT' ? 201 : 200, { 'Content-Length': '0' }).end());
  });
  return { server, methods };
}

export async function autoSamples(workDir: string, count: number, rounds: number): Promise<Sample[]> {
  const dir = join(workDir, 'many');
  await writeSmallFiles(dir, count);
  const { server, methods } = countingPlainServer();
  const { url } = await listenOnLoopback(server);
  const samples: Sample[] = [];
  try {
    const protocols = ['none', 'auto'] as const;
    for (let round = 1; round <= rounds; round++) {
      for (const protocol of round % 2 === 1 ? protocols : [...protocols].reverse()) {
        const home = join(workDir, `many-home-${protocol}-${round}`);
        methods.clear();
        const run = await timedRun(
          process.execPath,
          [MANY, protocol, `${url}/${protocol}-${round}`, dir, String(count)],
          {
            env: { ...process.env, BGTRANSFER_HOST: 'inproc', BGTRANSFER_HOME: home, BGTRANSFER_APP_ID: 'bench' },
            cwd: ROOT,
          },
        );
        await rm(home, { recursive: true, force: true });
        const probes = methods.get('OPTIONS') ?? 0;
        // 'auto' asks the endpoint once (a few times while the first answer is awaited), 'none' never.
        const ok =
          run.exitCode === 0 &&
          methods.get('PUT') === count &&
          (protocol === 'none' ? probes === 0 : probes >= 1 && probes < count / 10);
        const side = `${count} uploads, resumeProtocol '${protocol}'`;
        samples.push({
          group: 'auto',
          side,
          round,
          ok,
          wallSeconds: run.wallSeconds,
          cpuSeconds: run.cpuSeconds,
          maxRssBytes: run.maxRssBytes,
        });
        log(`${side} (${probes} OPTIONS)`, round, ok, run.wallSeconds, run.cpuSeconds);
      }
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return samples;
}

function log(side: string, round: number, ok: boolean, seconds: number, cpu: number): void {
  process.stderr.write(
    `${side} #${round}: ${ok ? 'ok' : 'FAILED'} ${seconds.toFixed(3)} s wall, ${cpu.toFixed(2)} s CPU\n`,
  );
}
