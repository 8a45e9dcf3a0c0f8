import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { captureProxyEnv } from '../../src/core/proxy-env.ts';
import { watchIdle } from '../../src/host/idle-exit.ts';
import { hostCommand } from '../../src/ipc/host-command.ts';
import { hostEnvironment } from '../../src/ipc/host-environment.ts';
import { HOST_NODE_FLAGS } from '../../src/ipc/host-flags.ts';
import { RECONNECT_POLICY, reconnectDelayMs } from '../../src/ipc/reconnect-policy.ts';
import { renderServiceUnit } from '../../src/ipc/service-unit.ts';
import { unixSocketPath } from '../../src/net/dbus-connection.ts';

test("hostEnvironment keeps what the host needs and drops the app's secrets, proxies and NODE_OPTIONS", () => {
  const env = hostEnvironment(
    {
      HOME: '/home/u',
      PATH: '/usr/bin',
      LANG: 'C.UTF-8',
      LC_ALL: 'C',
      XDG_RUNTIME_DIR: '/run/user/1000',
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus',
      NODE_EXTRA_CA_CERTS: '/etc/ca.pem',
      BGTRANSFER_LOG_LEVEL: 'debug',
      BGTRANSFER_APP_ID: 'the-first-app',
      BGTRANSFER_HOME: '/elsewhere',
      SECRET_TOKEN: 'x',
      HTTPS_PROXY: 'http://proxy:3128',
      no_proxy: 'localhost',
      NODE_OPTIONS: '--require ./app-hook.js',
    },
    '/home/u/.local/state/bgtransfer',
  );
  assert.deepEqual(env, {
    HOME: '/home/u',
    PATH: '/usr/bin',
    LANG: 'C.UTF-8',
    LC_ALL: 'C',
    XDG_RUNTIME_DIR: '/run/user/1000',
    DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus',
    NODE_EXTRA_CA_CERTS: '/etc/ca.pem',
    BGTRANSFER_LOG_LEVEL: 'debug',
    BGTRANSFER_HOME: '/home/u/.local/state/bgtransfer',
  });
});

test('captureProxyEnv takes only the proxy variables, in both cases', () => {
  assert.deepEqual(captureProxyEnv({ HTTPS_PROXY: 'http://p:1', no_proxy: 'a.test', PATH: '/bin', ALL_PROXY: 'x' }), {
    HTTPS_PROXY: 'http://p:1',
    no_proxy: 'a.test',
  });
  assert.deepEqual(captureProxyEnv({}), {});
});

test('one reconnect policy: starts soon, doubles, capped', () => {
  const delays = Array.from({ length: 10 }, (_, attempt) => reconnectDelayMs(attempt));
  assert.deepEqual(delays.slice(0, 4), [100, 200, 400, 800]);
  assert.equal(Math.max(...delays), RECONNECT_POLICY.maxDelayMs);
  assert.equal(reconnectDelayMs(10_000), RECONNECT_POLICY.maxDelayMs);
});

test('watchIdle fires once, after idle has lasted idleMs, and not while busy', async () => {
  let busy = true;
  let fired = 0;
  const stop = watchIdle({ isIdle: () => !busy, idleMs: () => 200, onIdle: () => (fired += 1) });
  await sleep(500);
  assert.equal(fired, 0, 'busy: no exit');
  busy = false;
  const deadline = Date.now() + 5_000;
  while (fired === 0 && Date.now() < deadline) await sleep(20);
  assert.equal(fired, 1);
  await sleep(400);
  assert.equal(fired, 1, 'fires once');
  stop();
});

test('the host runs with the light V8 flags, spawned and as a systemd service, before its script', () => {
  assert.deepEqual(HOST_NODE_FLAGS, [
    '--max-semi-space-size=1',
    '--liftoff-only',
    '--heap-growing-percent=20',
    '--no-concurrent-array-buffer-sweeping',
  ]);
  const command = hostCommand();
  const entry = command.args.findIndex((arg) => /host-entry\.(ts|js)$/.test(arg));
  for (const flag of HOST_NODE_FLAGS) {
    const at = command.args.indexOf(flag);
    assert.ok(at !== -1 && at < entry, `${flag} comes before the host script in ${command.args.join(' ')}`);
  }
  const unit = renderServiceUnit('/home/u/.local/state/bgtransfer', command);
  for (const flag of HOST_NODE_FLAGS) assert.ok(unit.includes(` "${flag}" `), unit);
});

test('unixSocketPath: the file of a single unix:path= address, nothing for what dbus-next must try', () => {
  assert.equal(unixSocketPath('unix:path=/var/run/dbus/system_bus_socket'), '/var/run/dbus/system_bus_socket');
  assert.equal(unixSocketPath('unix:path=/run/user/1000/bus,guid=0123abcd'), '/run/user/1000/bus');
  assert.equal(unixSocketPath('unix:guid=01,path=/tmp/a%20b'), '/tmp/a b');
  assert.equal(unixSocketPath('unix:abstract=/tmp/dbus-XYZ'), undefined);
  assert.equal(unixSocketPath('tcp:host=127.0.0.1,port=4000'), undefined);
  assert.equal(unixSocketPath('unix:path=/a;unix:path=/b'), undefined);
  assert.equal(unixSocketPath('unix:path=%zz'), undefined);
});
