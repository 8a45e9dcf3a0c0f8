import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { processCpuSeconds, processPeakRssBytes, type TimedRun, timedRun } from './timed-run.ts';

/**
 * The two sides of a download benchmark, measured the same way: `curl -o FILE URL`, and the built
 * CLI's `bgtransfer download URL FILE` through a transfer host that is already running. A run counts
 * only if the file it left has the served file's sha256 (checked after the clock stopped; the file is
 * then deleted so that the next run writes a new one).
 */

export interface DownloadRun {
  run: TimedRun;
  ok: boolean;
  /** The host's share of run.cpuSeconds (CLI runs only). */
  hostCpuSeconds?: number;
  /** The host's VmHWM after the run (CLI runs only). */
  hostPeakRssBytes?: number;
}

export async function curlDownload(url: string, out: string, sha256: string): Promise<DownloadRun> {
  const run = await timedRun('curl', ['-sS', '-o', out, '-w', '%{http_code}', url]);
  const ok = run.exitCode === 0 && run.stdout.trim() === '200' && (await fileSha256(out)) === sha256;
  await rm(out, { force: true });
  return { run, ok };
}

/**
 * `bgtransfer download URL FILE` against a running host whose pid is `hostPid`: its CPU time is the
 * CLI's plus what the host used meanwhile (from /proc before and after).
 */
export async function cliDownload(
  cli: string,
  env: NodeJS.ProcessEnv,
  hostPid: number,
  url: string,
  out: string,
  sha256: string,
): Promise<DownloadRun> {
  const hostCpuBefore = processCpuSeconds(hostPid);
  const run = await timedRun(process.execPath, [cli, 'download', url, out], { env });
  const hostCpuSeconds = processCpuSeconds(hostPid) - hostCpuBefore;
  const ok = run.exitCode === 0 && (await fileSha256(out)) === sha256;
  await rm(out, { force: true });
  return {
    run: { ...run, cpuSeconds: run.cpuSeconds + hostCpuSeconds },
    ok,
    hostCpuSeconds,
    hostPeakRssBytes: processPeakRssBytes(hostPid),
  };
}

/** Whether the built CLI has the `download` command (it answers `download --help` with exit 0). */
export async function cliCanDownload(cli: string): Promise<boolean> {
  const help = await timedRun(process.execPath, [cli, 'download', '--help']);
  return help.exitCode === 0 && /download/.test(help.stdout);
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch {
    return '';
  }
  return hash.digest('hex');
}
