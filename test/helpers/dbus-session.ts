import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * A private D-Bus daemon for tests: a session-type bus whose policy
 * allows everything, listening on a unix socket in a temp dir. Tests point the real code at it through
 * DBUS_SYSTEM_BUS_ADDRESS / DBUS_SESSION_BUS_ADDRESS in the options' env.
 *
 * dbus-daemon runs with `--nofork` as a direct child of the test process and `stop()` waits for it to
 * exit: PID 1 on the CI machine does not reap orphans. Debian package: `dbus-daemon`.
 */

export interface PrivateBus {
  /** The address dbus-daemon printed, e.g. `unix:path=/tmp/bgtransfer-dbus-x/bus,guid=…`. */
  readonly address: string;
  readonly socketPath: string;
  readonly pid: number;
  /** Stops the daemon (SIGTERM, SIGKILL after 5 s), waits for its exit, removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface PrivateBusOptions {
  /** Listen here instead of a fresh temp dir (to restart a bus at the same address). Not removed by stop(). */
  socketPath?: string;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export async function startPrivateBus(options: PrivateBusOptions = {}): Promise<PrivateBus> {
  const dir = await mkdtemp(join(tmpdir(), 'bgtransfer-dbus-'));
  const socketPath = options.socketPath ?? join(dir, 'bus');
  const configPath = join(dir, 'bus.conf');
  await writeFile(configPath, renderConfig(socketPath));

  const child = spawn('dbus-daemon', [`--config-file=${configPath}`, '--nofork', '--nopidfile', '--print-address'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });

  let address: string;
  try {
    address = await firstLine(child.stdout, child, READY_TIMEOUT_MS);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
    const hint = isMissingBinary(error)
      ? 'dbus-daemon is not installed; npm test installs it when run as root, otherwise run: apt-get install -y dbus-daemon'
      : stderr.join('').trim();
    throw new Error(`dbus-daemon did not start: ${error instanceof Error ? error.message : error}\n${hint}`);
  }

  let stopping: Promise<void> | undefined;
  return {
    address,
    socketPath,
    pid: child.pid ?? -1,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

function renderConfig(socketPath: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${escapeXml(socketPath)}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** The daemon prints its address as the first stdout line once it accepts connections. */
async function firstLine(
  stream: NodeJS.ReadableStream,
  child: ReturnType<typeof spawn>,
  timeoutMs: number,
): Promise<string> {
  const lines = createInterface({ input: stream });
  const done = new AbortController();
  const signal = AbortSignal.any([done.signal, AbortSignal.timeout(timeoutMs)]);
  try {
    const result = await Promise.race([
      once(lines, 'line', { signal }).then(([line]: unknown[]) => String(line).trim()),
      once(child, 'error', { signal }).then(([error]: unknown[]) => Promise.reject(error)),
      once(child, 'exit', { signal }).then(([code]: unknown[]) =>
        Promise.reject(new Error(`exited with code ${code}`)),
      ),
    ]);
    if (!result.startsWith('unix:')) throw new Error(`unexpected address line: ${result}`);
    return result;
  } finally {
    done.abort();
    lines.close();
  }
}

function isMissingBinary(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}
