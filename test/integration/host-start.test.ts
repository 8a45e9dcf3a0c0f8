import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stopHost } from '../../src/ipc/host-control.ts';
import { killProcessesUnder } from '../helpers/bad-input-harness.ts';
import { type NodeChild, spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';

/**
 * Starting the transfer host with real processes: a burst of apps on an empty home starts exactly one
 * host (one starter at a time), and a host killed while it starts is started again, so the app's call
 * still succeeds.
 */

const SOCKET_PORT_URL = pathToFileURL(fileURLToPath(new URL('../../src/ipc/socket-port.ts', import.meta.url))).href;
/**
 * 30 callers: 6 processes with 5 ports each. Separate processes race across the start lock; ports in one
 * process race inside it. (30 processes would each load the TypeScript sources: minutes on a busy CI box.)
 */
const PROCESSES = 6;
const CALLERS_PER_PROCESS = 5;
/** Loaded apps wait for this file, so their calls start together, not staggered by module loading. */
const GO_FILE = 'go';

let temp: TempDir;
const homes: string[] = [];

before(async () => {
  temp = await makeTempDir('bt-host-start-');
  writeFileSync(
    join(temp.path, 'call-when-told.mts'),
    `import { existsSync } from 'node:fs';
     import { SocketPort } from '${SOCKET_PORT_URL}';
     const [go, callers] = [process.argv[2], Number(process.argv[3])];
     console.log('READY');
     while (!existsSync(go)) await new Promise((resolve) => setTimeout(resolve, 10));
     // Each caller is its own port, as separate apps are: its own connection and its own launcher call.
     const counts = await Promise.all(Array.from({ length: callers }, async (_, index) => {
       const port = new SocketPort(process.env.BGTRANSFER_HOME);
       try {
         return (await port.call('list', 'app-' + process.pid + '-' + index, { filter: { kind: 'all' } })).length;
       } finally {
         await port.close();
       }
     }));
     console.log('DONE ' + counts.join(','));
     process.exit(0);`,
  );
});

after(async () => {
  for (const home of homes) await stopHost(home).catch(() => false);
  killProcessesUnder(temp.path);
  await temp.cleanup();
});

function runApp(home: string, callers: number, env: Record<string, string> = {}): NodeChild {
  return spawnNode([join(temp.path, 'call-when-told.mts'), join(home, '..', GO_FILE), String(callers)], {
    env: { BGTRANSFER_HOME: home, BGTRANSFER_HOST: 'auto', BGTRANSFER_APP_ID: 'burst', ...env },
  });
}

/** Every process that wrote to host.log: each host logs with its pid from its first line on. */
function hostPidsInLog(home: string): Set<number> {
  const pids = new Set<number>();
  const path = join(home, 'host.log');
  if (!existsSync(path)) return pids;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    try {
      const entry = JSON.parse(line) as { pid?: number };
      if (typeof entry.pid === 'number') pids.add(entry.pid);
    } catch {
      // Not a pino line (e.g. a stack trace printed before the logger was up).
    }
  }
  return pids;
}

test(`${PROCESSES * CALLERS_PER_PROCESS} callers at once on an empty home start exactly one host, and every call succeeds`, {
  timeout: 240_000,
}, async () => {
  const dir = join(temp.path, 'burst');
  const home = join(dir, 'home');
  homes.push(home);
  mkdirSync(dir, { mode: 0o700 });
  const apps = Array.from({ length: PROCESSES }, () => runApp(home, CALLERS_PER_PROCESS));
  await Promise.all(apps.map((app) => app.waitForLine(/^READY$/, 120_000)));
  writeFileSync(join(dir, GO_FILE), '');
  const exits = await Promise.all(apps.map((app) => app.exited));
  const failed = apps.filter((_, index) => exits[index]?.code !== 0);
  assert.deepEqual(
    failed.map((app) => app.stderrLines.find((line) => /Error:/.test(line)) ?? app.stderrLines.join('\n')),
    [],
    'every app call succeeds',
  );
  const done = `DONE ${Array(CALLERS_PER_PROCESS).fill(0).join(',')}`;
  for (const app of apps) assert.ok(app.stdoutLines.includes(done), app.stdoutLines.join('\n'));
  assert.equal(hostPidsInLog(home).size, 1, `host processes started: ${[...hostPidsInLog(home)].join(', ')}`);
});

test('a host killed while it starts is started again: the app call still succeeds', { timeout: 120_000 }, async () => {
  const dir = join(temp.path, 'killed');
  const home = join(dir, 'home');
  homes.push(home);
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, GO_FILE), '');
  // The host starts with a clean environment (no preload can ride along in NODE_OPTIONS), so the test
  // watches for it: the first process whose working directory is the home and that runs the host
  // entry is SIGKILLed, before its socket exists.
  let killed: { pid: number; listening: boolean } | undefined;
  const watcher = setInterval(() => {
    if (killed !== undefined) return;
    const pid = hostProcessIn(home);
    if (pid === undefined) return;
    killed = { pid, listening: existsSync(join(home, 'host.sock')) };
    process.kill(pid, 'SIGKILL');
  }, 5);
  try {
    const app = runApp(home, 1);
    const exit = await app.exited;
    assert.ok(killed !== undefined, 'the first host was killed');
    assert.equal(killed.listening, false, 'it was killed before it listened');
    assert.equal(exit.code, 0, app.stderrLines.join('\n'));
    assert.ok(app.stdoutLines.includes('DONE 0'), app.stdoutLines.join('\n'));
    assert.ok(hostPidsInLog(home).size >= 1, 'a second host served the call');
  } finally {
    clearInterval(watcher);
  }
});

/** A running host process for `home` (its working directory), if any. */
function hostProcessIn(home: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) !== home) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('host-entry')) return Number(entry);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return undefined;
}
