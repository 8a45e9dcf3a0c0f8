import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { findFreePort } from './free-port.ts';

/**
 * Debian's Apache httpd (apache2) as a real WebDAV PUT target, optionally behind Basic authentication
 * (mod_auth_basic with an htpasswd file). Like test/helpers/nginx.ts: it runs in the foreground
 * (`-D FOREGROUND`) as a direct child of the test process, every file it reads or writes (config,
 * htpasswd, pid, logs, mutexes, DAV lock database) lives in one temp dir, nothing from /etc/apache2 is
 * used, and `stop()` waits for it to exit.
 */

export interface ApacheOptions {
  /** Puts `/dav/` behind Basic authentication with this one user. */
  basicAuth?: { userName: string; password: string };
}

export interface ApacheServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  /** `<url>/dav/`: PUT and DELETE below it (the parent directory must exist); Basic auth if asked for. */
  readonly davUrl: string;
  /** The directory `davUrl` maps to. */
  readonly root: string;
  readonly pid: number;
  /** The error log so far (authentication failures are logged here). */
  errorLog(): Promise<string>;
  /** The access log so far: one line per request, with the user name Basic authentication accepted. */
  accessLog(): Promise<string>;
  /** Stops Apache, waits for the parent process to exit, then deletes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const MODULE_DIR = '/usr/lib/apache2/modules';
const MODULES = [
  ['mpm_event_module', 'mod_mpm_event.so'],
  ['authn_core_module', 'mod_authn_core.so'],
  ['authn_file_module', 'mod_authn_file.so'],
  ['authz_core_module', 'mod_authz_core.so'],
  ['authz_user_module', 'mod_authz_user.so'],
  ['auth_basic_module', 'mod_auth_basic.so'],
  ['alias_module', 'mod_alias.so'],
  ['dav_module', 'mod_dav.so'],
  ['dav_fs_module', 'mod_dav_fs.so'],
] as const;
const START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

export async function startApache(options: ApacheOptions = {}): Promise<ApacheServer> {
  const binary = findApacheBinary();
  let lastError: Error | undefined;
  // The free port can be taken between probing and Apache's bind; a fresh port usually fixes that.
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const port = await findFreePort();
    const dir = await mkdtemp(join(tmpdir(), 'bgtransfer-apache-'));
    try {
      return await startOnPort(binary, dir, port, options);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      lastError = error instanceof Error ? error : new Error(String(error));
      if (!/Address already in use|could not bind/.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error('apache2 did not start');
}

function findApacheBinary(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs.filter((entry) => entry !== '')) {
    const candidate = join(dir, 'apache2');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  throw new Error(
    'apache2 is not installed (looked on PATH and in /usr/sbin). .ci/run installs it; ' +
      'locally run: apt-get install -y --no-install-recommends apache2',
  );
}

/** Root cannot serve (Apache refuses), so its children run as www-data, which must reach the temp dir. */
const runsAsRoot = process.getuid?.() === 0;

async function startOnPort(binary: string, dir: string, port: number, options: ApacheOptions): Promise<ApacheServer> {
  const root = join(dir, 'dav');
  for (const sub of [root, join(dir, 'www'), join(dir, 'run')]) await mkdir(sub);
  if (options.basicAuth) await writeFile(join(dir, 'htpasswd'), htpasswdLine(options.basicAuth));
  const confPath = join(dir, 'httpd.conf');
  await writeFile(confPath, renderConfig(dir, root, port, options));
  if (runsAsRoot) {
    await chmod(dir, 0o755);
    for (const writable of [root, join(dir, 'run')]) await chown(writable, 33, 33);
  }

  const child = spawn(binary, ['-d', dir, '-f', confPath, '-D', 'FOREGROUND'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    // No APACHE_* variables from Debian's envvars: the config names every path itself.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  const exit = waitForExit(child);
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));

  const url = `http://127.0.0.1:${port}`;
  const errorLogPath = join(dir, 'error.log');
  const failure = async (reason: string): Promise<Error> => {
    const log = await readFile(errorLogPath, 'utf8').catch(() => '');
    return new Error(`apache2 ${reason}\n${stderr.join('')}${log}`.trimEnd());
  };
  const ready = await Promise.race([
    waitUntilAnswering(url).then(
      () => 'ready' as const,
      () => 'timeout' as const,
    ),
    exit.then(() => 'exited' as const),
  ]);
  if (ready === 'exited' || child.exitCode !== null || child.signalCode !== null) {
    throw await failure(`exited during start-up (code ${child.exitCode}, signal ${child.signalCode})`);
  }
  if (ready !== 'ready') {
    await terminate(child, exit);
    throw await failure(`did not answer on ${url} within ${READY_TIMEOUT_MS} ms`);
  }

  let stopped: Promise<void> | undefined;
  return {
    url,
    davUrl: `${url}/dav/`,
    root,
    pid: child.pid ?? -1,
    errorLog: () => readFile(errorLogPath, 'utf8').catch(() => ''),
    accessLog: () => readFile(join(dir, 'access.log'), 'utf8').catch(() => ''),
    stop() {
      stopped ??= terminate(child, exit).then(() => rm(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/** htpasswd's `{SHA}` form (base64 of SHA-1), which Apache accepts on every platform. */
function htpasswdLine(user: { userName: string; password: string }): string {
  return `${user.userName}:{SHA}${createHash('sha1').update(user.password).digest('base64')}\n`;
}

function renderConfig(dir: string, root: string, port: number, options: ApacheOptions): string {
  const modules = MODULES.map(([name, file]) => `LoadModule ${name} ${join(MODULE_DIR, file)}`).join('\n');
  const auth = options.basicAuth
    ? `AuthType Basic
    AuthName "bgtransfer test"
    AuthBasicProvider file
    AuthUserFile ${join(dir, 'htpasswd')}
    Require valid-user`
    : 'Require all granted';
  return `${modules}
${runsAsRoot ? 'User www-data\nGroup www-data' : ''}
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
DefaultRuntimeDir ${join(dir, 'run')}
PidFile ${join(dir, 'run', 'httpd.pid')}
ErrorLog ${join(dir, 'error.log')}
LogLevel warn
LogFormat "%h %u \\"%r\\" %>s" short
CustomLog ${join(dir, 'access.log')} short
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
DocumentRoot ${join(dir, 'www')}
DavLockDB ${join(dir, 'run', 'davlock')}
<Directory ${join(dir, 'www')}>
    Require all granted
</Directory>
Alias /dav/ ${root}/
<Directory ${root}>
    Dav On
    ${auth}
</Directory>
`;
}

/** Polls with a real HTTP request, so a listening socket whose child is not up yet does not count. */
async function waitUntilAnswering(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await answers(url)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no answer from ${url}`);
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/`, { method: 'HEAD', timeout: 1000, agent: false }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once('exit', () => resolve());
    // A spawn failure emits 'error' and no 'exit'; without a listener it would crash the test process.
    child.once('error', () => resolve());
  });
}

/** SIGTERM makes the parent stop its children at once, reap them, and exit. */
async function terminate(child: ChildProcess, exit: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await exit;
    if (child.stderr !== null && !child.stderr.closed) await once(child.stderr, 'close');
  } finally {
    clearTimeout(timer);
  }
}
