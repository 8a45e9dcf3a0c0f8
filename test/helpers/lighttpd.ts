import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ForegroundServer, startForegroundServer } from './foreground-server.ts';

/** Debian's lighttpd 1.4 with mod_webdav as a real PUT target. */
export interface Lighttpd {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `<url>/dav/`: WebDAV (PUT, DELETE, MKCOL…) below it. */
  readonly davUrl: string;
  /** The directory `davUrl` maps to. */
  readonly root: string;
  readonly server: ForegroundServer;
  stop(): Promise<void>;
}

export async function startLighttpd(): Promise<Lighttpd> {
  let root = '';
  const server = await startForegroundServer({
    binary: 'lighttpd',
    debianPackage: 'lighttpd lighttpd-mod-webdav',
    prefix: 'lighttpd',
    errorLog: 'error.log',
    async prepare(dir, port) {
      root = join(dir, 'dav');
      await mkdir(root);
      await mkdir(join(dir, 'uploads'));
      const config = [
        'server.modules = ( "mod_webdav", "mod_accesslog" )',
        `server.document-root = "${dir}"`,
        `server.port = ${port}`,
        'server.bind = "127.0.0.1"',
        `server.errorlog = "${join(dir, 'error.log')}"`,
        `accesslog.filename = "${join(dir, 'access.log')}"`,
        `server.upload-dirs = ( "${join(dir, 'uploads')}" )`,
        // No server.username: lighttpd keeps the test's user (it refuses to "switch" to root).
        '$HTTP["url"] =~ "^/dav($|/)" {',
        '  webdav.activate = "enable"',
        '  webdav.is-readonly = "disable"',
        '}',
      ];
      await writeFile(join(dir, 'lighttpd.conf'), `${config.join('\n')}\n`);
      return ['-D', '-f', join(dir, 'lighttpd.conf')];
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  return { url, davUrl: `${url}/dav/`, root, server, stop: () => server.stop() };
}
