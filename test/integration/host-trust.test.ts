import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/default-extras.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { hostSocketPath, PROTOCOL_VERSION } from '../../src/ipc/protocol.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { rawSession, request } from '../helpers/raw-socket.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * The transfer host trusts no client: a raw frame on its socket can ask for an upload, but cannot
 * name the engine's own state (a spool file, a resume session, a probe result, offsets). Real host
 * processes (started by SocketPort, as an app would), real upload server.
 */

let temp: TempDir;
let server: UploadServer;
const homes: string[] = [];

before(async () => {
  temp = await makeTempDir('bt-host-trust-');
  server = await startUploadServer();
  server.route('/files/other', () => ({ status: 204 }));
});

after(async () => {
  for (const home of homes) await stopHost(home).catch(() => false);
  await server.close();
  await temp.cleanup();
});

function newHome(name: string): string {
  const home = join(temp.path, name);
  homes.push(home);
  return home;
}

/** Every field an operation record keeps in extras, as a forged client would send them. */
function storedExtras(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    body: { kind: 'file' },
    resumeProtocol: 'none',
    session: null,
    probedPlain: false,
    serverCredential: null,
    proxyCredential: null,
    successNotification: null,
    failureNotification: null,
    notificationBatchId: null,
    completionGroupId: null,
    ...overrides,
  };
}

function startFrame(id: number, appId: string, fields: Record<string, unknown>): string {
  const guid = randomUUID();
  const spec = {
    guid,
    appId,
    method: 'PUT',
    requestedUri: `${server.url}/forged/${guid}`,
    sourcePath: null,
    headers: [],
    costPolicy: 0,
    priority: 0,
    group: null,
    transferGroup: null,
    ...fields,
  };
  return request(id, 'start', { spec });
}

test('raw start frames naming a spool path, a resume session, a probe result or an offset are refused; the named file stays', async () => {
  const home = newHome('forged');
  const port = new SocketPort(home);
  try {
    await port.status('app-a');
    const victim = await writeRandomFile(temp.path, 'victim.bin', 64 * 1024);
    const source = await writeRandomFile(temp.path, 'source.bin', 1024);
    const hello = request(1, 'hello', { protocolVersion: PROTOCOL_VERSION, appId: 'app-a' });
    const { replies, closed } = await rawSession(hostSocketPath(home), [
      hello,
      // The host would upload this file and then delete it.
      startFrame(2, 'app-a', { extras: storedExtras({ body: { kind: 'stream', spoolPath: victim.path } }) }),
      // The host would PATCH this body into another tus upload.
      startFrame(3, 'app-a', {
        sourcePath: source.path,
        extras: storedExtras({
          resumeProtocol: 'tus',
          session: { protocol: 'tus', uploadUrl: `${server.url}/files/other` },
        }),
      }),
      startFrame(4, 'app-a', { sourcePath: source.path, extras: storedExtras({ probedPlain: true }) }),
      startFrame(5, 'app-a', { sourcePath: source.path, ackOffset: 512 }),
    ]);
    assert.equal(closed, false, 'a refused start does not cost the connection');
    const refused = replies.filter((reply) => reply.id !== 1);
    assert.deepEqual(
      refused.map((reply) => [reply.id, reply.ok, reply.error?.code]),
      [
        [2, false, 'BT_ERR_INVALID_ARGUMENT'],
        [3, false, 'BT_ERR_INVALID_ARGUMENT'],
        [4, false, 'BT_ERR_INVALID_ARGUMENT'],
        [5, false, 'BT_ERR_INVALID_ARGUMENT'],
      ],
    );
    assert.match(refused[0]?.error?.message ?? '', /spoolPath/);
    assert.match(refused[1]?.error?.message ?? '', /session/);
    assert.match(refused[2]?.error?.message ?? '', /probedPlain/);
    assert.match(refused[3]?.error?.message ?? '', /ackOffset/);

    // Give a wrongly accepted upload time to run: it would have PUT the victim and removed it.
    await sleep(1_500);
    assert.ok(existsSync(victim.path), 'the file the frame named is still there');
    assert.deepEqual(
      server.requests.filter((entry) => entry.url.startsWith('/forged/') || entry.url === '/files/other'),
      [],
      'nothing was sent',
    );
    assert.deepEqual(await port.call('list', 'app-a', { filter: { kind: 'all' } }), [], 'nothing was stored');
  } finally {
    await port.close();
  }
});

test('a stream body names only a spool the host created for this app; a made-up or another app’s spool id is refused', async () => {
  const home = newHome('spool-ids');
  const port = new SocketPort(home);
  try {
    await port.status('app-a');
    const socketPath = hostSocketPath(home);
    const given = await rawSession(socketPath, [
      request(1, 'hello', { protocolVersion: PROTOCOL_VERSION, appId: 'app-a' }),
      request(2, 'createSpool', {}),
    ]);
    const spool = given.replies[1]?.result as { spoolId: string; path: string } | undefined;
    assert.ok(spool, `createSpool answered: ${JSON.stringify(given.replies[1])}`);
    assert.equal(join(home, 'spool'), join(spool.path, '..'), 'the host made it inside its own spool directory');

    // Exactly what an app may ask for (the request schema), naming a spool by id.
    const streamExtras = (spoolId: string) => ({ ...DEFAULT_REQUEST_EXTRAS, body: { kind: 'stream', spoolId } });
    const other = await rawSession(socketPath, [
      request(1, 'hello', { protocolVersion: PROTOCOL_VERSION, appId: 'app-b' }),
      startFrame(2, 'app-b', { extras: streamExtras(spool.spoolId) }),
      startFrame(3, 'app-b', { extras: streamExtras(randomUUID()) }),
      startFrame(4, 'app-b', { extras: streamExtras('../../etc/passwd') }),
    ]);
    assert.deepEqual(
      other.replies.slice(1).map((reply) => [reply.id, reply.ok, reply.error?.code]),
      [
        [2, false, 'BT_ERR_NOT_FOUND'],
        [3, false, 'BT_ERR_NOT_FOUND'],
        [4, false, 'BT_ERR_INVALID_ARGUMENT'],
      ],
    );
    assert.deepEqual(await port.call('list', 'app-b', { filter: { kind: 'all' } }), []);
    // The connection that was given the spool has closed without starting it: the host released it.
    await waitUntil(() => !existsSync(spool.path), 20_000, 'the unstarted spool is removed');
    assert.deepEqual(readdirSync(join(home, 'spool')), []);
  } finally {
    await port.close();
  }
});

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(50);
  }
}
