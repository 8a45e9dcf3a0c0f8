import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { spawnNode } from '../test/helpers/process-tools.ts';

/**
 * Driving a BUILT host that a benchmark spawned itself (`node FLAGS dist/ipc/host-entry.js`, as the
 * launcher does): waiting for its socket, and uploading through it from a client process.
 */

const CLIENT_SCRIPT = fileURLToPath(new URL('./small-uploads-client.ts', import.meta.url));

export interface BenchHost {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly home: string;
  /** The environment of a client of this host (its home and app id; no BGTRANSFER_HOST). */
  readonly env: NodeJS.ProcessEnv;
  /** SIGTERM, then waits for the host to exit. */
  stop(): Promise<void>;
}

/**
 * `node FLAGS ENTRY` in a fresh home under `parent` (config.json: 16 transfers at once), resolved once it
 * listens. `hostEnv` is added to the host's environment only.
 */
export async function spawnBuiltHost(options: {
  entry: string;
  flags: readonly string[];
  parent: string;
  appId: string;
  hostEnv?: Readonly<Record<string, string>>;
}): Promise<BenchHost> {
  const home = await mkdtemp(join(options.parent, 'home-'));
  writeFileSync(join(home, 'config.json'), `${JSON.stringify({ maxConcurrentTransfers: 16 })}\n`);
  const env: NodeJS.ProcessEnv = { ...process.env, BGTRANSFER_HOME: home, BGTRANSFER_APP_ID: options.appId };
  delete env.BGTRANSFER_HOST;
  const host = spawn(process.execPath, [...options.flags, options.entry], {
    cwd: home,
    env: { ...env, ...options.hostEnv },
    stdio: 'ignore',
  });
  const stop = async (): Promise<void> => {
    host.kill('SIGTERM');
    if (host.exitCode === null && host.signalCode === null) await new Promise((done) => host.once('exit', done));
  };
  try {
    await waitListening(join(home, 'host.sock'), host);
  } catch (error) {
    await stop();
    throw error;
  }
  return { process: host, pid: host.pid ?? 0, home, env, stop };
}

/** Resolves once the host accepts connections on its socket; throws if it exits or takes over 60 s. */
export async function waitListening(socketPath: string, host: ChildProcess): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const ok = await new Promise<boolean>((done) => {
      const socket = connect(socketPath);
      socket.once('connect', () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (ok) return;
    if (host.exitCode !== null) throw new Error(`the host exited with code ${host.exitCode}`);
    if (performance.now() > deadline) throw new Error('the host did not listen within 60 s');
    await sleep(50);
  }
}

/**
 * `count` uploads of dir/f<i>.bin (each `size` bytes) through the running host to the sink at `url`
 * (bench/small-uploads-sink.ts), from a client process (bench/small-uploads-client.ts) that keeps up to
 * 4,000 started; resolves with how many completed, and throws unless all did.
 */
export async function uploadThroughHost(
  env: NodeJS.ProcessEnv,
  url: string,
  dir: string,
  count: number,
  size: number,
): Promise<number> {
  await fetch(`${url}/__reset?expect=${size}`, { method: 'POST' }).then((response) => response.arrayBuffer());
  const args = ['bgtransfer', '--url', url, '--dir', dir, '--count', String(count), '--window', '4000'];
  const child = spawnNode([CLIENT_SCRIPT, ...args], { env });
  const line = await child.waitForLine(/^\{"type":"(result|error)"/, 600_000);
  await child.exited;
  const result = JSON.parse(line) as { type: string; completed?: number; message?: string };
  if (result.type !== 'result' || result.completed !== count) throw new Error(`uploads failed: ${line}`);
  return result.completed;
}
