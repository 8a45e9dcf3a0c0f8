import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Runs a TypeScript script in a fresh Node process, the way the package scripts do
 * (`node --conditions=source --import tsx`), as a *direct* child: PID 1 on the CI machine does not
 * reap orphans, so only a child we spawn and wait for is guaranteed not to linger as a zombie.
 */

export interface SpawnNodeOptions {
  /** Extra variables, merged over `process.env` (a value of `undefined` removes the variable). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** false: plain `node SCRIPT`, for JavaScript on the built package (no loader, no "source" condition). @default true */
  typescript?: boolean;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all. */
  error?: Error;
}

export interface NodeChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Every complete line seen so far, in order. */
  readonly stdoutLines: readonly string[];
  readonly stderrLines: readonly string[];
  /** Resolves (never rejects) once the process has exited and its output is fully read. */
  readonly exited: Promise<ChildExit>;
  /** The first stdout or stderr line (already seen or future) that matches. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): boolean;
}

/**
 * The Node flags every project script runs with (see package.json "scripts"). tsx is given as a resolved
 * URL because `--import tsx` is resolved from the child's cwd, which may be a temp dir outside the repo.
 */
export const NODE_TS_FLAGS: readonly string[] = ['--conditions=source', '--import', import.meta.resolve('tsx')];

export function spawnNode(scriptPathOrArgs: string | readonly string[], options: SpawnNodeOptions = {}): NodeChild {
  const args = typeof scriptPathOrArgs === 'string' ? [scriptPathOrArgs] : [...scriptPathOrArgs];
  const child = spawn(process.execPath, [...(options.typescript === false ? [] : NODE_TS_FLAGS), ...args], {
    cwd: options.cwd,
    env: mergeEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  const lines = new EventEmitter();
  collectLines(child.stdout, stdoutLines, lines);
  collectLines(child.stderr, stderrLines, lines);

  const exited = new Promise<ChildExit>((resolve) => {
    // 'close' (not 'exit') so that every line has been read when `exited` resolves.
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      if (child.pid === undefined) resolve({ code: null, signal: null, error });
    });
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    lines.emit('exit');
  });

  const waitForLine = (pattern: RegExp, timeoutMs = 10_000): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const seen = [...stdoutLines, ...stderrLines].find((line) => pattern.test(line));
      if (seen !== undefined) {
        resolve(seen);
        return;
      }
      const cleanup = (): void => {
        clearTimeout(timer);
        lines.off('line', onLine);
        lines.off('exit', onExit);
      };
      const onLine = (line: string): void => {
        if (!pattern.test(line)) return;
        cleanup();
        resolve(line);
      };
      const onExit = (): void => {
        cleanup();
        reject(new Error(`process ${child.pid} exited before printing ${pattern}\n${tail(stderrLines)}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms\n${tail(stderrLines)}`));
      }, timeoutMs);
      lines.on('line', onLine);
      lines.on('exit', onExit);
      if (hasExited) onExit();
    });

  return {
    process: child,
    pid: child.pid ?? -1,
    stdoutLines,
    stderrLines,
    exited,
    waitForLine,
    kill: (signal: NodeJS.Signals = 'SIGTERM') => child.kill(signal),
  };
}

function mergeEnv(extra: Record<string, string | undefined> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(extra ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

function collectLines(stream: NodeJS.ReadableStream | null, into: string[], events: EventEmitter): void {
  if (stream === null) return;
  const reader = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  reader.on('line', (line) => {
    into.push(line);
    events.emit('line', line);
  });
}

function tail(lines: readonly string[], count = 20): string {
  return lines.slice(-count).join('\n');
}

/**
 * Stops the host of `home` with a built CLI's `host stop`. A host that cannot be asked to stop must not
 * outlive the test: it is then ended through its lock's pid, if that pid runs a host entry.
 */
export async function stopBuiltHost(
  cli: string,
  home: string,
  options: { cwd: string; env: Record<string, string | undefined> },
): Promise<void> {
  const stop = spawnNode([cli, 'host', 'stop'], { ...options, typescript: false });
  if ((await stop.exited).code === 0) return;
  const pid = Number.parseInt(await readFile(join(home, 'engine.lock'), 'utf8').catch(() => ''), 10);
  const command = pid > 0 ? await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '') : '';
  if (command.includes('host-entry')) process.kill(pid, 'SIGTERM');
}

/** The command line of the host a built CLI's `host status` names (it must answer). */
export async function runningHostArgv(
  cli: string,
  options: { cwd: string; env: Record<string, string | undefined> },
): Promise<string[]> {
  const status = spawnNode([cli, 'host', 'status'], { ...options, typescript: false });
  const exit = await status.exited;
  if (exit.code !== 0) throw new Error(`host status exited with ${exit.code}: ${status.stderrLines.join('\n')}`);
  const pid = Number(/^pid: (\d+)$/m.exec(status.stdoutLines.join('\n'))?.[1]);
  if (!(pid > 0)) throw new Error(`host status named no pid: ${status.stdoutLines.join('\n')}`);
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
}
