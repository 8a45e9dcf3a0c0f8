import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { spawnNode } from '../test/helpers/process-tools.ts';

/**
 * Driving a BUILT host that a benchmark spawned itself (`node FLAGS dist/ipc/host-entry.js`, as the
 * launcher does): waiting for its socket, and uploading through it from a client process.
 */

const CLIENT_SCRIPT = fileURLToPath(new URL('./small-uploads-client.ts', import.meta.url));

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
