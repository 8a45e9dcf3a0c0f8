import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isProcessRunning } from '../../src/core/process.ts';
import type { OperationSpec } from '../../src/core/snapshot.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { type NodeChild, spawnNode } from './process-tools.ts';
import { makeTempDir, type RandomFile, type TempDir } from './temp-dir.ts';
import { startUploadServer, type UploadServer } from './upload-server.ts';

/**
 * What the transfer host's end-to-end tests share: a temp dir, a throttled upload server, homes whose
 * hosts are stopped after the file's tests, and app processes (.mts scripts importing the package
 * source) that start the host themselves (BGTRANSFER_HOST=auto). Call useHostBed() at a test file's
 * top level; `temp` and `server` are set in its `before`.
 */

const API_URL = pathToFileURL(fileURLToPath(new URL('../../src/index.ts', import.meta.url))).href;
const SOCKET_PORT_URL = pathToFileURL(fileURLToPath(new URL('../../src/ipc/socket-port.ts', import.meta.url))).href;
export const THROTTLE_BYTES_PER_SECOND = 1024 * 1024;

// Live bindings: set in useHostBed's before(), read by the tests after it ran.
export let temp: TempDir;
export let server: UploadServer;
const homes: string[] = [];
const apps: NodeChild[] = [];

export function useHostBed(): void {
  before(async () => {
    temp = await makeTempDir('bt-host-test-');
    server = await startUploadServer({ throttleBytesPerSecond: THROTTLE_BYTES_PER_SECOND });
    writeScripts(temp.path);
  });

  after(async () => {
    // Hosts first, while the apps that spawned them are alive to reap them (PID 1 here does not).
    for (const home of homes) await stopHost(home).catch(() => false);
    for (const app of apps) app.kill('SIGTERM');
    await Promise.all(apps.map((app) => app.exited));
    await server.close();
    await temp.cleanup();
  });
}

export function newHome(name: string): string {
  const home = join(temp.path, name);
  homes.push(home);
  return home;
}

export function runApp(script: string, home: string, appId: string, args: string[] = []): NodeChild {
  const app = spawnNode([join(temp.path, `${script}.mts`), ...args], {
    env: { BGTRANSFER_HOME: home, BGTRANSFER_HOST: 'auto', BGTRANSFER_APP_ID: appId, BGTRANSFER_LOG_LEVEL: 'info' },
  });
  apps.push(app);
  return app;
}

/** The JSON after `TAG ` in the app's first stdout line that starts with it. */
export async function report<T>(app: NodeChild, tag: string, timeoutMs = 20_000): Promise<T> {
  const line = await app.waitForLine(new RegExp(`^${tag} `), timeoutMs);
  return JSON.parse(line.slice(tag.length + 1)) as T;
}

export interface Enumerated {
  guid: string;
  status: number;
  statusCode: number | null;
  body: string | null;
}

export interface Finished {
  guid: string;
  status: number;
  statusCode: number | null;
  sameGuid: number;
}

export interface ProgressLine {
  atMs: number;
  bytesSent: number;
  hasRestarted: boolean;
}

export function parseProgress(line: string): ProgressLine {
  return JSON.parse(line.slice('PROGRESS '.length)) as ProgressLine;
}

export function parseLog(line: string): { msg?: string; time: number; connectMs: number; attempt: number } | undefined {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

export function specFor(appId: string, file: RandomFile, url: string): OperationSpec {
  return {
    guid: randomUUID(),
    appId,
    method: 'PUT',
    requestedUri: url,
    sourcePath: file.path,
    headers: [],
    costPolicy: 0,
    priority: 0,
    group: null,
    transferGroup: null,
  };
}

/** Live processes running host-entry for this home (a zombie's cmdline is empty). */
export function runningHosts(home: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('host-entry')) continue;
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.includes(`BGTRANSFER_HOME=${home}`) && isProcessRunning(pid)) pids.push(pid);
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** The app processes, as .mts files importing the package source (run with tsx by spawnNode). */
function writeScripts(dir: string): void {
  const scripts: Record<string, string> = {
    'start-and-exit': `
      import { BackgroundUploader, StorageFile } from '${API_URL}';
      const [fastPath, fastUrl, slowPath, slowUrl] = process.argv.slice(2);
      const uploader = new BackgroundUploader();
      uploader.method = 'PUT';
      const fast = uploader.createUpload(fastUrl, await StorageFile.getFileFromPathAsync(fastPath));
      const slow = uploader.createUpload(slowUrl, await StorageFile.getFileFromPathAsync(slowPath));
      fast.startAsync();
      // The first progress report means the host stored and runs it (and the start before it).
      await new Promise((resolve) => slow.startAsync().progress(resolve));
      console.log('STARTED ' + JSON.stringify({ fast: fast.guid, slow: slow.guid }));
      process.exit(0);`,
    'enumerate-and-attach': `
      import { BackgroundUploader } from '${API_URL}';
      const describe = async (op) => {
        const response = op.getResponseInformation();
        let body = null;
        if (op.progress.status === 5) {
          body = '';
          for await (const chunk of op.getResultStreamAt(0)) body += chunk;
        }
        return { guid: op.guid, status: op.progress.status, statusCode: response?.statusCode ?? null, body };
      };
      const operations = [...(await BackgroundUploader.getCurrentUploadsAsync())];
      console.log('ENUMERATED ' + JSON.stringify(await Promise.all(operations.map(describe))));
      for (const op of operations.filter((op) => op.progress.status === 1)) {
        await op.attachAsync();
        console.log('ATTACHED ' + JSON.stringify(await describe(op)));
      }`,
    'watch-through-kill': `
      import { BackgroundUploader, StorageFile } from '${API_URL}';
      const [path, url] = process.argv.slice(2);
      const uploader = new BackgroundUploader();
      uploader.method = 'PUT';
      const op = uploader.createUpload(url, await StorageFile.getFileFromPathAsync(path));
      let started = false;
      await op.startAsync().progress((o) => {
        const { bytesSent, hasRestarted } = o.progress;
        console.log('PROGRESS ' + JSON.stringify({ atMs: Date.now(), bytesSent, hasRestarted }));
        if (!started) console.log('STARTED ' + JSON.stringify({ guid: o.guid }));
        started = true;
      });
      const all = [...(await BackgroundUploader.getCurrentUploadsAsync())];
      const sameGuid = all.filter((other) => other.guid === op.guid).length;
      const statusCode = op.getResponseInformation()?.statusCode ?? null;
      console.log('DONE ' + JSON.stringify({ guid: op.guid, status: op.progress.status, statusCode, sameGuid }));
      // Stay until the test has stopped the host this process started, so that it is reaped.
      setInterval(() => undefined, 1_000);`,
    'status-and-wait': `
      import { SocketPort } from '${SOCKET_PORT_URL}';
      const port = new SocketPort(process.argv[2]);
      console.log('HOST ' + JSON.stringify({ pid: (await port.status()).pid }));
      await port.close();
      setInterval(() => undefined, 1_000);`,
  };
  for (const [name, body] of Object.entries(scripts)) writeFileSync(join(dir, `${name}.mts`), body);
}
