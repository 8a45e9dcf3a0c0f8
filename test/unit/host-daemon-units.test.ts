import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { captureProxyEnv } from '../../src/core/proxy-env.ts';
import { watchIdle } from '../../src/host/idle-exit.ts';
import { hostEnvironment } from '../../src/ipc/host-environment.ts';
import { RECONNECT_POLICY, reconnectDelayMs } from '../../src/ipc/reconnect-policy.ts';

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
