import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs one command under GNU time (Debian package `time`) and returns what the kernel counted for it:
 * wall time, CPU time (user + system, the process and the children it waited for) and peak RSS
 * (ru_maxrss, exact however short the run). The same measure for curl, node and bgtransfer.
 */

export interface TimedRun {
  exitCode: number | null;
  wallSeconds: number;
  cpuSeconds: number;
  maxRssBytes: number;
  stdout: string;
  stderr: string;
}

export interface TimedRunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const GNU_TIME = '/usr/bin/time';
let counter = 0;

export function assertGnuTime(): void {
  try {
    accessSync(GNU_TIME, constants.X_OK);
  } catch {
    throw new Error(`${GNU_TIME} is missing: install the Debian package "time" (apt-get install -y time)`);
  }
}

export async function timedRun(
  command: string,
  args: readonly string[],
  options: TimedRunOptions = {},
): Promise<TimedRun> {
  counter += 1;
  const timeFile = join(tmpdir(), `bgtransfer-bench-${process.pid}-${counter}.time`);
  const started = process.hrtime.bigint();
  const child = spawn(GNU_TIME, ['-f', '%e %U %S %M', '-o', timeFile, command, ...args], {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  // With a non-zero exit GNU time writes a "Command exited ..." line first; the numbers are the last line.
  const lines = (await readFile(timeFile, 'utf8').catch(() => '')).trim().split('\n');
  await rm(timeFile, { force: true });
  const [, user, system, kilobytes] = (lines.at(-1) ?? '').split(' ').map(Number);
  return {
    exitCode,
    wallSeconds,
    cpuSeconds: (user ?? Number.NaN) + (system ?? Number.NaN),
    maxRssBytes: (kilobytes ?? Number.NaN) * 1024,
    stdout,
    stderr,
  };
}

/** CPU seconds (user + system) a running process has used so far, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** CPU seconds (user + system) one thread of a running process used so far; the main thread's tid is the pid. */
export function threadCpuSeconds(pid: number, tid: number): number {
  return statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
}

function statCpuSeconds(path: string): number {
  const { user, system } = procStatTicks(path);
  // Clock ticks: 100 per second on Linux.
  return (user + system) / 100;
}

/** User and system CPU, in clock ticks, from a /proc `stat` file (a process's or a thread's). */
export function procStatTicks(path: string): { user: number; system: number } {
  const stat = readFileSync(path, 'utf8');
  // "pid (comm) S ..." — comm may contain spaces, so count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line.
  return { user: Number(fields[11]), system: Number(fields[12]) };
}

/** The kernel's high-water mark of a running process's RSS (VmHWM), in bytes. */
export function processPeakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}
