import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { findFreePort } from './free-port.ts';

/**
 * Debian's nginx as a real WebDAV PUT target.
 * It runs in the foreground (`daemon off;`) as a direct child of the test process and `stop()` waits for
 * it, because PID 1 on the CI machine does not reap orphans: a daemonized nginx would stay behind.
 * Every path nginx writes (pid, error log, *_temp_path) lives in one temp dir, so it needs nothing from
 * /etc/nginx or /var/lib/nginx and never touches another nginx on the machine.
 */

export interface NginxServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  /** `<url>/dav/`: PUT, DELETE, MKCOL, COPY and MOVE below it; parent directories are created on PUT. */
  readonly davUrl: string;
  /** The directory `davUrl` maps to: a PUT to `davUrl + 'a/b.bin'` writes `join(root, 'a/b.bin')`. */
  readonly root: string;
  /** The master process (our direct child). */
  readonly pid: number;
  /** Kills nginx, waits for the master to exit, then deletes its temp dir (root included). Idempotent. */
  stop(): Promise<void>;
}

const START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

/** What the server does beside its WebDAV location. */
export interface NginxOptions {
  /**
   * A reverse proxy: every path outside `/dav/` goes to this origin (`http://127.0.0.1:<port>`),
   * the request body streamed as it arrives (`proxy_request_buffering off`) unless `requestBuffering`.
   */
  proxyTo?: string;
  /** `client_max_body_size` of the proxied paths (nginx's default is `1m`); only with `proxyTo`. */
  clientMaxBodySize?: string;
  /**
   * true: nginx's default, the whole request body is read before the request goes to the server
   * (`proxy_request_buffering on`); only with `proxyTo`.
   */
  requestBuffering?: boolean;
}

export async function startNginx(options: NginxOptions = {}): Promise<NginxServer> {
  const binary = findNginxBinary();
  let lastError: Error | undefined;
  // The free port can be taken between probing and nginx's bind; a fresh port usually fixes that.
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const port = await findFreePort();
    const dir = await mkdtemp(join(tmpdir(), 'bgtransfer-nginx-'));
    try {
      return await startOnPort(binary, dir, port, options);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      lastError = error instanceof Error ? error : new Error(String(error));
      if (!/Address already in use/.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error('nginx did not start');
}

function findNginxBinary(): string {
  // Debian installs it in /usr/sbin, which is not on every non-root PATH.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs.filter((entry) => entry !== '')) {
    const candidate = join(dir, 'nginx');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  throw new Error(
    'nginx is not installed (looked on PATH and in /usr/sbin). npm test installs it when run as root; ' +
      'locally run: apt-get install -y --no-install-recommends nginx',
  );
}

async function startOnPort(binary: string, dir: string, port: number, options: NginxOptions): Promise<NginxServer> {
  const root = join(dir, 'dav');
  await mkdir(root);
  const confPath = join(dir, 'nginx.conf');
  const errorLog = join(dir, 'error.log');
  await writeFile(confPath, renderConfig(dir, root, port, options));

  const child = spawn(binary, ['-p', `${dir}/`, '-e', errorLog, '-c', confPath], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exit = waitForExit(child);
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));

  const url = `http://127.0.0.1:${port}`;
  const failure = async (reason: string): Promise<Error> => {
    const log = await readFile(errorLog, 'utf8').catch(() => '');
    return new Error(`nginx ${reason}\n${stderr.join('')}${log}`.trimEnd());
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
    stop() {
      stopped ??= terminate(child, exit).then(() => rm(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

function proxyLocation(options: NginxOptions): string {
  if (options.proxyTo === undefined) return '';
  return `
    location / {
      proxy_pass ${options.proxyTo};
      proxy_http_version 1.1;
      proxy_request_buffering ${options.requestBuffering === true ? 'on' : 'off'};
      proxy_set_header Host $http_host;
      client_max_body_size ${options.clientMaxBodySize ?? '1m'};
    }`;
}

function renderConfig(dir: string, root: string, port: number, options: NginxOptions): string {
  // As root the workers would otherwise switch to `nobody`, which cannot enter a 0700 mkdtemp dir.
  // As a normal user nginx cannot switch users at all, and the directive would only cause a warning.
  const user = process.getuid?.() === 0 ? 'user root root;' : '';
  return `${user}
daemon off;
master_process on;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 256; }
http {
  access_log ${join(dir, 'access.log')};
  default_type application/octet-stream;
  client_body_temp_path ${join(dir, 'client_body_temp')};
  proxy_temp_path ${join(dir, 'proxy_temp')};
  fastcgi_temp_path ${join(dir, 'fastcgi_temp')};
  uwsgi_temp_path ${join(dir, 'uwsgi_temp')};
  scgi_temp_path ${join(dir, 'scgi_temp')};
  server {
    listen 127.0.0.1:${port};
    root ${join(dir, 'www')};
    location /dav/ {
      alias ${root}/;
      dav_methods PUT DELETE MKCOL COPY MOVE;
      create_full_put_path on;
      client_max_body_size 0;
      client_body_temp_path ${join(dir, 'client_body_temp')};
    }${proxyLocation(options)}
  }
}
`;
}

/** Polls with a real HTTP request, so a listening socket whose worker is not up yet does not count. */
async function waitUntilAnswering(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await answers(url)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
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

/** SIGTERM is nginx's fast shutdown: the master stops its workers, reaps them, then exits itself. */
async function terminate(child: ChildProcess, exit: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await exit;
    // 'exit' can fire before stderr is drained; wait for the pipe so no handle outlives stop().
    if (child.stderr !== null && !child.stderr.closed) await once(child.stderr, 'close');
  } finally {
    clearTimeout(timer);
  }
}
