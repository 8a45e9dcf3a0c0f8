import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ForegroundServer, startForegroundServer } from './foreground-server.ts';

/** Debian's tinyproxy 1.11 as a real forward proxy (absolute-form http, CONNECT for https). */
export interface Tinyproxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly server: ForegroundServer;
  /** tinyproxy's log (connections, requests, refusals). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

export interface TinyproxyOptions {
  /** Require `Proxy-Authorization: Basic` with these (tinyproxy answers 407 before reading the body, then closes). */
  basicAuth?: { userName: string; password: string };
}

export async function startTinyproxy(options: TinyproxyOptions = {}): Promise<Tinyproxy> {
  const server = await startForegroundServer({
    binary: 'tinyproxy',
    debianPackage: 'tinyproxy',
    prefix: 'tinyproxy',
    errorLog: 'tinyproxy.log',
    async prepare(dir, port) {
      const auth = options.basicAuth;
      const lines = [
        `Port ${port}`,
        'Listen 127.0.0.1',
        'Timeout 60',
        'MaxClients 50',
        'LogLevel Info',
        `LogFile "${join(dir, 'tinyproxy.log')}"`,
        `PidFile "${join(dir, 'tinyproxy.pid')}"`,
        'Allow 127.0.0.1',
        // tinyproxy drops root privileges to this user when started as root.
        ...(process.getuid?.() === 0 ? ['User root', 'Group root'] : []),
        ...(auth === undefined ? [] : [`BasicAuth ${auth.userName} ${auth.password}`]),
      ];
      await writeFile(join(dir, 'tinyproxy.conf'), `${lines.join('\n')}\n`);
      return ['-d', '-c', join(dir, 'tinyproxy.conf')];
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    server,
    log: () => server.readFile('tinyproxy.log'),
    stop: () => server.stop(),
  };
}
