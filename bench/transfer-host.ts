import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { timedRun } from './timed-run.ts';

/**
 * The built CLI's transfer host in the foreground (`bgtransfer host`), as a direct child of the
 * benchmark so that stopping it is ours to do; resolves once it answers `host status`.
 */
export async function startHost(cli: string, home: string): Promise<ChildProcess> {
  const env = { ...process.env, BGTRANSFER_HOST: 'auto', BGTRANSFER_HOME: home };
  const child = spawn(process.execPath, [cli, 'host'], { env, stdio: 'ignore' });
  for (let attempt = 0; attempt < 200; attempt++) {
    const status = await timedRun(process.execPath, [cli, 'host', 'status'], { env });
    if (status.exitCode === 0) return child;
    if (child.exitCode !== null) throw new Error(`the transfer host exited with code ${child.exitCode}`);
    await sleep(100);
  }
  child.kill('SIGTERM');
  throw new Error('the transfer host did not start');
}

/** SIGTERM, then waits for the host to exit. */
export async function stopHost(host: ChildProcess | undefined): Promise<void> {
  if (host === undefined) return;
  host.kill('SIGTERM');
  if (host.exitCode === null && host.signalCode === null) await new Promise((resolve) => host.once('exit', resolve));
}
