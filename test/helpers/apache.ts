import { createHash } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ForegroundServer, startForegroundServer } from './foreground-server.ts';

/**
 * Debian's Apache 2.4 with mod_dav (PUT target) at three locations: behind mod_auth_digest, behind
 * mod_auth_basic (both for the one credential given to startApache), and open.
 */
export interface Apache {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `<url>/digest/`: WebDAV, Digest (MD5, qop=auth) only. */
  readonly digestUrl: string;
  /** `<url>/basic/`: WebDAV, Basic only. */
  readonly basicUrl: string;
  /** `<url>/open/`: WebDAV without authentication. */
  readonly openUrl: string;
  /** The directories the three URLs map to. */
  readonly digestRoot: string;
  readonly basicRoot: string;
  readonly openRoot: string;
  readonly realm: string;
  readonly server: ForegroundServer;
  /**
   * Access log lines: `METHOD path status bytes-in user` (mod_logio's %I: every byte of the request;
   * the user name authentication accepted, '-' for none).
   */
  accessLog(): Promise<Array<{ method: string; path: string; status: number; bytesIn: number; user: string }>>;
  /** The error log so far (authentication failures are logged here). */
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

const MODULES = [
  'mpm_event',
  'authn_core',
  'authn_file',
  'authz_core',
  'authz_user',
  'auth_digest',
  'auth_basic',
  'alias',
  'dav',
  'dav_fs',
];

export async function startApache(credential: { userName: string; password: string }): Promise<Apache> {
  const realm = 'bgtransfer interop';
  let digestRoot = '';
  let basicRoot = '';
  let openRoot = '';
  const server = await startForegroundServer({
    binary: 'apache2',
    debianPackage: 'apache2',
    prefix: 'apache',
    errorLog: 'error.log',
    async prepare(dir, port) {
      digestRoot = join(dir, 'digest');
      basicRoot = join(dir, 'basic');
      openRoot = join(dir, 'open');
      for (const path of [digestRoot, basicRoot, openRoot, join(dir, 'lock')]) {
        await mkdir(path);
        // Apache's workers run as nobody when started as root: they must write here.
        await chmod(path, 0o777);
      }
      await chmod(dir, 0o755);
      const ha1 = createHash('md5').update(`${credential.userName}:${realm}:${credential.password}`).digest('hex');
      await writeFile(join(dir, 'htdigest'), `${credential.userName}:${realm}:${ha1}\n`);
      await chmod(join(dir, 'htdigest'), 0o644);
      await writeFile(join(dir, 'htpasswd'), htpasswdLine(credential));
      await chmod(join(dir, 'htpasswd'), 0o644);
      const config = [
        ...MODULES.map((name) => `LoadModule ${name}_module /usr/lib/apache2/modules/mod_${name}.so`),
        `ServerRoot "${dir}"`,
        'ServerName 127.0.0.1',
        `Listen 127.0.0.1:${port}`,
        `PidFile "${join(dir, 'apache.pid')}"`,
        `DefaultRuntimeDir "${dir}"`,
        `Mutex file:${dir} default`,
        `ErrorLog "${join(dir, 'error.log')}"`,
        'LogLevel warn',
        'LogFormat "%m %U %>s %I %u" interop',
        `CustomLog "${join(dir, 'access.log')}" interop`,
        ...(process.getuid?.() === 0 ? ['User nobody', 'Group nogroup'] : []),
        'StartServers 1',
        'ServerLimit 1',
        'ThreadsPerChild 16',
        'MaxRequestWorkers 16',
        'KeepAlive On',
        `DocumentRoot "${dir}"`,
        `DavLockDB "${join(dir, 'lock', 'davlock')}"`,
        `Alias /digest/ "${digestRoot}/"`,
        `<Directory "${digestRoot}">`,
        '  Dav On',
        '  AuthType Digest',
        `  AuthName "${realm}"`,
        '  AuthDigestProvider file',
        `  AuthUserFile "${join(dir, 'htdigest')}"`,
        '  Require valid-user',
        '</Directory>',
        `Alias /basic/ "${basicRoot}/"`,
        `<Directory "${basicRoot}">`,
        '  Dav On',
        '  AuthType Basic',
        `  AuthName "${realm}"`,
        '  AuthBasicProvider file',
        `  AuthUserFile "${join(dir, 'htpasswd')}"`,
        '  Require valid-user',
        '</Directory>',
        `Alias /open/ "${openRoot}/"`,
        `<Directory "${openRoot}">`,
        '  Dav On',
        '  Require all granted',
        '</Directory>',
      ];
      await writeFile(join(dir, 'apache.conf'), `${config.join('\n')}\n`);
      return ['-d', dir, '-f', join(dir, 'apache.conf'), '-DFOREGROUND'];
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  return {
    url,
    digestUrl: `${url}/digest/`,
    basicUrl: `${url}/basic/`,
    openUrl: `${url}/open/`,
    digestRoot,
    basicRoot,
    openRoot,
    realm,
    server,
    async accessLog() {
      const text = await server.readFile('access.log');
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          const [method = '', path = '', status = '0', bytesIn = '0', user = '-'] = line.split(' ');
          return { method, path, status: Number(status), bytesIn: Number(bytesIn), user };
        });
    },
    errorLog: () => server.readFile('error.log'),
    stop: () => server.stop(),
  };
}

/** htpasswd's `{SHA}` form (base64 of SHA-1), which Apache accepts on every platform. */
function htpasswdLine(user: { userName: string; password: string }): string {
  return `${user.userName}:{SHA}${createHash('sha1').update(user.password).digest('base64')}\n`;
}
