import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnNode } from '../test/helpers/process-tools.ts';
import { sampleRss } from '../test/helpers/rss-sampler.ts';

/**
 * One bgtransfer upload in a fresh Node process (bench/bgtransfer-put-once.ts), measured from outside
 * like the curl run: wall time from spawn, and peak RSS. The child also reports its own ru_maxrss
 * (exact, the same measure GNU time gives for curl) and how long the upload itself took, so start-up
 * (Node, tsx compiling the sources, opening SQLite) can be told apart from transfer speed.
 */

export interface BgtransferRun {
  ok: boolean;
  statusCode: number | null;
  /** Spawn until the child printed its result (the moment the user's code knows the upload is done). */
  wallSeconds: number;
  /** createUpload() until startAsync() settled, timed inside the child. */
  transferSeconds: number;
  /** wallSeconds - transferSeconds: Node start-up, module loading, engine start. */
  startupSeconds: number;
  /** Whether the process ended on its own after the upload (a handle left open would keep it alive). */
  exitedByItself: boolean;
  peakRssBytes: number;
  rssSource: 'ru_maxrss' | 'VmHWM' | 'VmRSS' | 'none';
  error: string | undefined;
}

interface ChildResult {
  type: 'result' | 'error';
  statusCode?: number | null;
  transferSeconds?: number;
  maxRssBytes?: number;
  code?: string;
  message?: string;
}

const CHILD_SCRIPT = fileURLToPath(new URL('./bgtransfer-put-once.ts', import.meta.url));
const RESULT_TIMEOUT_MS = 30 * 60 * 1000;
const EXIT_GRACE_MS = 10_000;

export async function runBgtransfer(file: string, url: string): Promise<BgtransferRun> {
  const home = await mkdtemp(join(tmpdir(), 'bgtransfer-bench-home-'));
  try {
    const started = process.hrtime.bigint();
    const child = spawnNode([CHILD_SCRIPT, file, url], {
      env: { BGTRANSFER_HOST: 'inproc', BGTRANSFER_HOME: home, BGTRANSFER_APP_ID: 'bgtransfer-bench' },
    });
    const sampler = sampleRss(child.pid);
    let line: string;
    try {
      line = await child.waitForLine(/^\{"type":"(result|error)"/, RESULT_TIMEOUT_MS);
    } catch (error) {
      sampler.stop();
      child.kill('SIGKILL');
      await child.exited;
      return failed(error instanceof Error ? error.message : String(error), child.stderrLines);
    }
    const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;

    const exitTimer = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
    const exit = await child.exited;
    clearTimeout(exitTimer);
    const sampled = sampler.stop();

    const result = JSON.parse(line) as ChildResult;
    const selfReported = result.maxRssBytes ?? 0;
    const transferSeconds = result.transferSeconds ?? Number.NaN;
    return {
      ok: result.type === 'result',
      statusCode: result.statusCode ?? null,
      wallSeconds,
      transferSeconds,
      startupSeconds: wallSeconds - transferSeconds,
      exitedByItself: exit.signal !== 'SIGKILL',
      peakRssBytes: Math.max(selfReported, sampled.peakBytes),
      rssSource: selfReported >= sampled.peakBytes && selfReported > 0 ? 'ru_maxrss' : sampled.source,
      error: result.type === 'error' ? `${result.code}: ${result.message}` : undefined,
    };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

function failed(message: string, stderr: readonly string[]): BgtransferRun {
  return {
    ok: false,
    statusCode: null,
    wallSeconds: Number.NaN,
    transferSeconds: Number.NaN,
    startupSeconds: Number.NaN,
    exitedByItself: false,
    peakRssBytes: 0,
    rssSource: 'none',
    error: `${message}\n${stderr.slice(-15).join('\n')}`.trim(),
  };
}
