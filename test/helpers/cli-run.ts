import { fileURLToPath } from 'node:url';
import { type ChildExit, spawnNode } from './process-tools.ts';

/**
 * The `bgtransfer` command as users run it: a real child process of src/cli/main.ts, its output
 * collected line by line. Every CLI test runs it through here.
 */

export const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliRun extends ChildExit {
  stdout: string[];
  stderr: string[];
}

/**
 * Runs `bgtransfer args…` to its exit. `env` is added to this process's environment after these
 * defaults: no BGTRANSFER_APP_ID (the CLI names its own), log level `warn` (so stderr holds what a
 * user would see); set BGTRANSFER_HOME and BGTRANSFER_HOST there.
 */
export async function runBgtransfer(args: readonly string[], env: Record<string, string | undefined>): Promise<CliRun> {
  const child = spawnNode([CLI, ...args], {
    env: { BGTRANSFER_APP_ID: undefined, BGTRANSFER_LOG_LEVEL: 'warn', ...env },
  });
  const exit = await child.exited;
  return { ...exit, stdout: [...child.stdoutLines], stderr: [...child.stderrLines] };
}

/** A run's exit and output, for an assertion's message. */
export function describeRun(run: CliRun): string {
  return `exit ${run.code}\nstdout:\n${run.stdout.join('\n')}\nstderr:\n${run.stderr.join('\n')}`;
}
