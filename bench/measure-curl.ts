import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleRss } from '../test/helpers/rss-sampler.ts';

/**
 * One `curl -T` upload, the baseline the benchmark compares bgtransfer with.
 * Peak RSS comes from GNU time's %M when /usr/bin/time exists (Debian package `time`): that is the
 * kernel's ru_maxrss for curl, exact however short the run. Without it we sample /proc VmHWM, which can
 * only miss growth in curl's last sampling interval.
 */

export interface CurlRun {
  httpCode: string;
  exitCode: number | null;
  /** Spawn to exit. */
  wallSeconds: number;
  peakRssBytes: number;
  rssSource: 'gnu-time' | 'VmHWM' | 'VmRSS' | 'none';
  stderr: string;
}

const GNU_TIME = '/usr/bin/time';

export async function runCurl(file: string, url: string): Promise<CurlRun> {
  const curlArgs = ['-sS', '-T', file, '-o', '/dev/null', '-w', '%{http_code}', url];
  const timeOutput = join(tmpdir(), `bgtransfer-bench-curl-${process.pid}-${Date.now()}.time`);
  const useGnuTime = isExecutable(GNU_TIME);
  const [command, args] = useGnuTime
    ? [GNU_TIME, ['-f', '%M', '-o', timeOutput, 'curl', ...curlArgs]]
    : ['curl', curlArgs];

  const started = process.hrtime.bigint();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const sampler = useGnuTime ? undefined : sampleRss(child.pid ?? -1);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const sampled = sampler?.stop();

  let peakRssBytes = sampled?.peakBytes ?? 0;
  let rssSource: CurlRun['rssSource'] = sampled?.source ?? 'none';
  if (useGnuTime) {
    // With a non-zero exit GNU time writes a "Command exited ..." line first; %M is always the last.
    const timeLines = (await readFile(timeOutput, 'utf8').catch(() => '')).trim().split('\n');
    const kilobytes = Number.parseInt(timeLines.pop() ?? '', 10);
    await rm(timeOutput, { force: true });
    if (Number.isFinite(kilobytes)) {
      peakRssBytes = kilobytes * 1024;
      rssSource = 'gnu-time';
    }
  }
  return { httpCode: stdout.trim(), exitCode, wallSeconds, peakRssBytes, rssSource, stderr: stderr.trim() };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
