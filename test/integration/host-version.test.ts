import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TransferError } from '../../src/core/errors.ts';
import { homeLayout } from '../../src/core/paths.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { hostSocketPath, PROTOCOL_VERSION } from '../../src/ipc/protocol.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { type FakeHost, startFakeHost } from '../helpers/fake-host.ts';
import { spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';

/**
 * A transfer host of another bgtransfer version still runs (e.g. after an upgrade, until it idles out).
 * Here a raw server on the home's socket plays a host that speaks IPC protocol 1 exactly as such a host
 * answers: a frame of another `v` is refused with BT_ERR_IPC_PROTOCOL in a v1 reply; a v1 `hello` is
 * welcomed; a v1 call whose params it does not know (a start with the newer request extras, a list with
 * paging) is "bad params", BT_ERR_INVALID_ARGUMENT. The app must get a clear coded error naming both
 * versions, at once, not "bad params" for a request it built correctly.
 */

const OLD_VERSION = 1;

let temp: TempDir;

before(async () => {
  temp = await makeTempDir('bt-host-version-');
});

after(async () => {
  await temp.cleanup();
});

function startOldHost(home: string, seen: string[]): Promise<FakeHost> {
  return startFakeHost(home, ({ v, method }) => {
    seen.push(`v${v} ${method}`);
    if (v !== OLD_VERSION) {
      return {
        v: OLD_VERSION,
        ok: false,
        error: { code: 'BT_ERR_IPC_PROTOCOL', message: `the host speaks protocol 1, the frame v${v}` },
      };
    }
    return method === 'hello'
      ? { v: OLD_VERSION, ok: true, result: { protocolVersion: OLD_VERSION, pid: process.pid, home } }
      : { v: OLD_VERSION, ok: false, error: { code: 'BT_ERR_INVALID_ARGUMENT', message: `bad params for ${method}` } };
  });
}

test('the socket protocol is past version 1: the start frame and its extras changed since', () => {
  assert.ok(PROTOCOL_VERSION > OLD_VERSION, `PROTOCOL_VERSION is ${PROTOCOL_VERSION}`);
});

test('an app meeting a host of IPC protocol 1 gets BT_ERR_IPC_PROTOCOL naming both versions, at once', async () => {
  const home = join(temp.path, 'old-host');
  mkdirSync(home, { mode: 0o700 });
  const seen: string[] = [];
  const oldHost = await startOldHost(home, seen);
  const port = new SocketPort(home);
  try {
    const startedAt = performance.now();
    const error = await port.call('list', 'app-a', { filter: { kind: 'all' } }).then(
      () => assert.fail('the call succeeded against a host of another protocol'),
      (caught: unknown) => caught,
    );
    const tookMs = performance.now() - startedAt;
    assert.ok(error instanceof TransferError, String(error));
    assert.equal(error.code, 'BT_ERR_IPC_PROTOCOL', error.message);
    assert.match(error.message, new RegExp(`protocol ${OLD_VERSION}\\b.*\\b${PROTOCOL_VERSION}\\b`));
    assert.match(error.message, /older bgtransfer/);
    assert.match(error.message, /stop it/);
    // Only the hello went out: nothing the old host could half-understand.
    assert.deepEqual(seen, [`v${PROTOCOL_VERSION} hello`]);
    // Not the launcher's start timeout: the answer is there at once.
    assert.ok(tookMs < 5_000, `the error took ${tookMs.toFixed(0)} ms`);
  } finally {
    await port.close();
    await oldHost.close();
  }
});

test("`bgtransfer host stop` stops a host of IPC protocol 1 with SIGTERM to the engine lock's owner", async () => {
  const home = join(temp.path, 'old-host-process');
  mkdirSync(home, { mode: 0o700 });
  // The old host as a process of its own: it holds the engine lock (its pid in the lock file) and
  // refuses every frame of another version, as a v1 host does.
  const script = join(temp.path, 'old-host.mjs');
  writeFileSync(
    script,
    `import { createServer } from 'node:net';
     const [socketPath] = process.argv.slice(2);
     createServer((socket) => {
       socket.on('error', () => undefined);
       socket.on('data', (chunk) => {
         for (const line of chunk.toString('utf8').split('\\n').filter(Boolean)) {
           const { v, id } = JSON.parse(line);
           const error = { code: 'BT_ERR_IPC_PROTOCOL', message: 'the host speaks protocol 1, the frame v' + v };
           socket.write(JSON.stringify({ v: 1, id, ok: false, error }) + '\\n');
         }
       });
     }).listen(socketPath, () => console.log('LISTENING'));`,
  );
  const oldHost = spawnNode([script, hostSocketPath(home)]);
  try {
    await oldHost.waitForLine(/LISTENING/, 30_000);
    writeFileSync(homeLayout(home).lock, String(oldHost.pid), { mode: 0o600 });
    assert.equal(await stopHost(home), true);
    assert.deepEqual(await oldHost.exited, { code: null, signal: 'SIGTERM' });
  } finally {
    oldHost.kill('SIGKILL');
  }
});
