import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnNode } from '../test/helpers/process-tools.ts';
import type { HostReading, SinkStats } from './small-uploads-report.ts';
import { procStatTicks } from './timed-run.ts';

/**
 * The processes around bench/host-small-uploads.ts: the sink server it uploads to, readings of the
 * host from /proc, and its argument checks.
 */

const SINK_SCRIPT = fileURLToPath(new URL('./small-uploads-sink.ts', import.meta.url));
const CLK_TCK = clockTicks();

export function readHost(pid: number): HostReading {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const { user, system } = procStatTicks(`/proc/${pid}/stat`);
  const ticks = user + system;
  return {
    vmHwmBytes: kilobytes(status, 'VmHWM'),
    vmRssBytes: kilobytes(status, 'VmRSS'),
    cpuSeconds: ticks / CLK_TCK,
  };
}

function kilobytes(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match?.[1] === undefined ? Number.NaN : Number(match[1]) * 1024;
}

export interface Sink {
  url: string;
  reset(): Promise<void>;
  stats(): Promise<SinkStats>;
  close(): Promise<void>;
}

export async function startSink(sizeBytes: number): Promise<Sink> {
  const child = spawnNode(SINK_SCRIPT);
  const { url } = JSON.parse(await child.waitForLine(/^\{"type":"listening"/, 30_000)) as { url: string };
  return {
    url,
    async reset() {
      const response = await fetch(`${url}/__reset?expect=${sizeBytes}`, { method: 'POST' });
      await response.arrayBuffer();
    },
    async stats() {
      return (await (await fetch(`${url}/__stats`)).json()) as SinkStats;
    },
    async close() {
      child.kill('SIGTERM');
      await child.exited;
    },
  };
}

export function undiciVersion(): string {
  try {
    const manifest = fileURLToPath(new URL('../node_modules/undici/package.json', import.meta.url));
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function positiveInteger(value: string | undefined, flag: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
  return parsed;
}

export function nonNegativeInteger(value: string | undefined, flag: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`${flag} must be a non-negative integer, got ${value}`);
  return parsed;
}
