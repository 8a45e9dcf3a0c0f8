import { readFileSync } from 'node:fs';

/**
 * Peak resident memory of another process, read from `/proc/<pid>/status`.
 * VmHWM is the kernel's own high-water mark of RSS, so the last VmHWM read before the process ends is
 * its true peak up to that moment, whatever happened between samples; VmRSS is only a point reading and
 * is kept as the fallback for kernels that do not report VmHWM.
 */

export interface RssResult {
  peakBytes: number;
  samples: number;
  /** Which field `peakBytes` came from ('none' when the process was never readable). */
  source: 'VmHWM' | 'VmRSS' | 'none';
}

export interface RssSampler {
  stop(): RssResult;
}

export function sampleRss(pid: number, intervalMs = 50): RssSampler {
  let samples = 0;
  let hwmBytes = 0;
  let maxRssBytes = 0;

  const sample = (): void => {
    const status = readStatus(pid);
    if (status === undefined) return;
    samples += 1;
    const hwm = kilobytesField(status, 'VmHWM');
    const rss = kilobytesField(status, 'VmRSS');
    if (hwm !== undefined) hwmBytes = Math.max(hwmBytes, hwm);
    if (rss !== undefined) maxRssBytes = Math.max(maxRssBytes, rss);
  };

  sample();
  const timer = setInterval(sample, intervalMs);
  // Sampling must never be the reason a test or benchmark process stays alive.
  timer.unref();

  return {
    stop(): RssResult {
      clearInterval(timer);
      sample();
      if (hwmBytes > 0) return { peakBytes: Math.max(hwmBytes, maxRssBytes), samples, source: 'VmHWM' };
      if (maxRssBytes > 0) return { peakBytes: maxRssBytes, samples, source: 'VmRSS' };
      return { peakBytes: 0, samples, source: 'none' };
    },
  };
}

function readStatus(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // The process has exited (or /proc is absent); the readings taken so far stand.
    return undefined;
  }
}

/** A `Name:   1234 kB` field in bytes; absent for a zombie, whose memory is already released. */
function kilobytesField(status: string, name: string): number | undefined {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
}
