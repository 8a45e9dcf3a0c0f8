import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findFreePort } from './free-port.ts';
import { HOST, PASV_RANGE, randomPasvMin, START_ATTEMPTS, type TestFtpServer } from './ftp-servers.ts';
import { makeTempDir, type TempDir } from './temp-dir.ts';

const VSFTPD_PASSWORD = 'pw-Anon-41c9';
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Debian's vsftpd, unprivileged (run_as_launching_user: no chroot, no user switch, anonymous logins
 * only), in the foreground (background=NO) as a direct child that `stop()` waits for: PID 1 on the
 * CI machine does not reap orphans. Everything it reads or writes is in one temp dir.
 */
export interface VsftpdOptions {
  /** anon_max_rate: vsftpd sends (and takes) at most this many bytes per second per session. */
  maxBytesPerSecond?: number;
}

export async function startVsftpd(options: VsftpdOptions = {}): Promise<TestFtpServer> {
  const binary = findVsftpd();
  let lastError: Error | undefined;
  // The free port can be taken between probing and vsftpd's bind; a fresh port usually fixes that.
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const dir = await makeTempDir('bgtransfer-vsftpd-');
    try {
      return await startVsftpdOnce(binary, dir, await findFreePort(), options);
    } catch (error) {
      await dir.cleanup();
      lastError = error instanceof Error ? error : new Error(String(error));
      // vsftpd exits with code 2 and no message when it cannot bind (or, see below, cannot trust its
      // config): a retry on a fresh port covers the first case; a broken config fails every attempt.
      if (!/exited during start-up/.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error('vsftpd did not start');
}

function findVsftpd(): string {
  // Debian installs it in /usr/sbin, which is not on every non-root PATH.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs.filter((entry) => entry !== '')) {
    const candidate = join(dir, 'vsftpd');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  throw new Error(
    'vsftpd is not installed (looked on PATH and in /usr/sbin). npm test installs it when run as root; ' +
      'locally run: apt-get install -y --no-install-recommends vsftpd',
  );
}

function renderVsftpdConfig(dir: string, root: string, port: number, options: VsftpdOptions): string {
  const pasvMin = randomPasvMin();
  return `${[
    // Standalone, IPv4 loopback only, in the foreground (a daemonized copy would become a zombie).
    'listen=YES',
    'listen_ipv6=NO',
    `listen_address=${HOST}`,
    `listen_port=${port}`,
    'background=NO',
    // Unprivileged: no user switch, no chroot, no seccomp filter (it rejects some syscalls in containers).
    'run_as_launching_user=YES',
    'seccomp_sandbox=NO',
    `secure_chroot_dir=${join(dir, 'empty')}`,
    // Anonymous logins (the only kind without privileges) that may create, overwrite and append.
    'anonymous_enable=YES',
    'local_enable=NO',
    `anon_root=${root}`,
    'write_enable=YES',
    'anon_upload_enable=YES',
    'anon_mkdir_write_enable=YES',
    'anon_other_write_enable=YES',
    'anon_umask=022',
    // The "password login": anonymous must give a password from this list.
    'no_anon_password=NO',
    'secure_email_list_enable=YES',
    `email_password_file=${join(dir, 'passwords')}`,
    'delay_failed_login=0',
    // Passive mode on loopback, in a range of our own.
    'pasv_enable=YES',
    `pasv_address=${HOST}`,
    `pasv_min_port=${pasvMin}`,
    `pasv_max_port=${pasvMin + PASV_RANGE - 1}`,
    // Logs into the temp dir, never /var/log: every command and reply (restOffsets reads the REST commands).
    'xferlog_enable=YES',
    'xferlog_std_format=NO',
    'log_ftp_protocol=YES',
    'syslog_enable=NO',
    `vsftpd_log_file=${join(dir, 'vsftpd.log')}`,
    ...(options.maxBytesPerSecond === undefined ? [] : [`anon_max_rate=${options.maxBytesPerSecond}`]),
  ].join('\n')}\n`;
}

async function startVsftpdOnce(
  binary: string,
  dir: TempDir,
  port: number,
  options: VsftpdOptions,
): Promise<TestFtpServer> {
  const root = join(dir.path, 'root');
  await Promise.all([mkdir(root), mkdir(join(dir.path, 'empty'))]);
  await writeFile(join(dir.path, 'passwords'), `${VSFTPD_PASSWORD}\n`);
  const confPath = join(dir.path, 'vsftpd.conf');
  // vsftpd exits silently with code 2 unless the launching user owns the config: writing it ourselves does that.
  await writeFile(confPath, renderVsftpdConfig(dir.path, root, port, options), { mode: 0o600 });

  const child = spawn(binary, [confPath], { cwd: dir.path, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      output.push(String(error));
      resolve();
    });
  });

  const ready = await Promise.race([
    waitForGreeting(port).then(
      () => 'ready' as const,
      () => 'timeout' as const,
    ),
    exited.then(() => 'exited' as const),
  ]);
  if (ready !== 'ready') {
    await terminate(child, exited);
    const how =
      ready === 'exited'
        ? `exited during start-up (code ${child.exitCode}, signal ${child.signalCode}; code 2 without a message ` +
          'means it could not bind the port or its config file is not owned by the launching user)'
        : 'did not answer';
    throw new Error(`vsftpd ${how} on port ${port}\n${output.join('')}`.trimEnd());
  }

  let stopped: Promise<void> | undefined;
  return {
    kind: 'vsftpd',
    port,
    url: `ftp://${HOST}:${port}/`,
    root,
    login: { userName: 'anonymous', password: VSFTPD_PASSWORD },
    async cutSessions() {
      // Each session is a child process of the listener; killing it resets its sockets (the kernel
      // sends RST for unread data) and leaves what it wrote on disk. The listener reaps it.
      await killChildren(child.pid ?? -1);
    },
    async freezeSessions() {
      for (const pid of await childPids(child.pid ?? -1, false)) process.kill(pid, 'SIGSTOP');
    },
    async restOffsets() {
      // `… FTP command: Client "127.0.0.1", "REST 1048576"` (log_ftp_protocol).
      const log = await readFile(join(dir.path, 'vsftpd.log'), 'utf8').catch(() => '');
      return [...log.matchAll(/FTP command: Client "[^"]*", "REST (\d+)"/g)].map((match) => Number(match[1]));
    },
    stop() {
      stopped ??= (async () => {
        // Sessions first, while the listener is alive to reap them; orphans would stay zombies.
        await killChildren(child.pid ?? -1);
        await terminate(child, exited);
        await dir.cleanup();
      })();
      return stopped;
    },
  };
}

/** Resolves once vsftpd sends its 220 greeting on a fresh connection. */
async function waitForGreeting(port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await greets(port)) return;
    await sleep(25);
  }
  throw new Error(`no FTP greeting on port ${port}`);
}

function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.setTimeout(1000, () => socket.destroy());
    socket.once('data', (data) => {
      resolve(data.toString('latin1').startsWith('220'));
      socket.end('QUIT\r\n');
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

/**
 * The pids whose parent is `parent`, from /proc (field 4 of /proc/<pid>/stat, after the "(comm)").
 * Zombies (state Z: dead, waiting for the parent to reap them) count only with `withZombies`.
 */
async function childPids(parent: number, withZombies: boolean): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === parent && (withZombies || fields[0] !== 'Z')) found.push(Number(entry));
  }
  return found;
}

async function killChildren(parent: number): Promise<void> {
  if (parent <= 0) return;
  const pids = await childPids(parent, false);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  // Until the listener has reaped them: if it were stopped first, they would stay zombies forever.
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while ((await childPids(parent, true)).some((pid) => pids.includes(pid)) && Date.now() < deadline) await sleep(10);
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }
  // 'exit' can fire before the pipes are drained; wait for them so no handle outlives stop().
  for (const stream of [child.stdout, child.stderr]) {
    if (stream !== null && !stream.closed) await once(stream, 'close');
  }
}
