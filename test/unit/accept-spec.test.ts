import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_EXTRAS } from '../../src/core/operation-extras.ts';
import type { OperationSpec } from '../../src/core/snapshot.ts';
import { acceptSpec } from '../../src/engine/accept-spec.ts';
import { TransferService } from '../../src/host/transfer-service.ts';
import { startEngine } from '../helpers/engine-harness.ts';
import { assertThrowsCode } from '../helpers/store-fixtures.ts';
import { makeTempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/** What the engine keeps of a client's spec, and what it decides itself (src/engine/accept-spec.ts). */

const HOME = '/home/u/.local/state/bgtransfer';

function spec(overrides: Partial<OperationSpec> = {}): OperationSpec {
  return {
    guid: '6f1c2a34-0d4e-4c43-9d55-0b1f0c8f2a10',
    appId: 'app',
    method: 'PUT',
    requestedUri: 'https://example.com/up',
    sourcePath: '/home/u/a.bin',
    headers: [],
    costPolicy: 0,
    priority: 0,
    group: null,
    transferGroup: null,
    extras: { ...DEFAULT_EXTRAS },
    ...overrides,
  };
}

describe('acceptSpec', () => {
  test('a guid that is not a plain file name is refused', () => {
    for (const guid of ['../../x', 'a/b', '..', 'a.b']) {
      assertThrowsCode(() => acceptSpec(spec({ guid }), HOME), 'BT_ERR_INVALID_ARGUMENT');
    }
  });

  test('a client cannot hand the engine a server session or the "plain server" finding', () => {
    const given = spec({
      extras: {
        ...DEFAULT_EXTRAS,
        session: { protocol: 'tus', uploadUrl: 'https://elsewhere.example/files/1' },
        probedPlain: true,
      },
    });
    const accepted = acceptSpec(given, HOME);
    assert.equal(accepted.extras?.session, null);
    assert.equal(accepted.extras?.probedPlain, false);
  });

  test('a stream body must be spooled inside the home, which the engine deletes it from', () => {
    const inside = { kind: 'stream' as const, spoolPath: join(HOME, 'spool', 'x.spool') };
    assert.deepEqual(acceptSpec(spec({ extras: { ...DEFAULT_EXTRAS, body: inside } }), HOME).extras?.body, inside);
    for (const spoolPath of ['/home/u/thesis.pdf', join(HOME, 'spool', '..', 'bgtransfer.db'), join(HOME, 'spoolx')]) {
      const body = { kind: 'stream' as const, spoolPath };
      assertThrowsCode(
        () => acceptSpec(spec({ extras: { ...DEFAULT_EXTRAS, body } }), HOME),
        'BT_ERR_INVALID_ARGUMENT',
      );
    }
  });

  test('userinfo becomes the server credential', () => {
    const accepted = acceptSpec(spec({ requestedUri: 'https://u:p@example.com/up' }), HOME);
    assert.equal(accepted.requestedUri, 'https://example.com/up');
    assert.deepEqual(accepted.extras?.serverCredential, { userName: 'u', password: 'p' });
  });

  test('the engine applies it: a path-like guid is refused before anything is stored', async () => {
    const h = await startEngine();
    const dir = await makeTempDir('bgtransfer-accept-');
    try {
      const source = await writeRandomFile(dir.path, 'a.bin', 1024);
      const given = h.spec({ guid: '../../escaped', sourcePath: source.path, requestedUri: 'http://127.0.0.1:9/x' });
      assertThrowsCode(() => h.engine.start(given), 'BT_ERR_INVALID_ARGUMENT');
      assert.deepEqual(h.engine.list(given.appId, { kind: 'all' }), []);
    } finally {
      await h.close();
      await dir.cleanup();
    }
  });

  test('the host refuses a completion group id that is not a plain file name (it names the task log)', async () => {
    const h = await startEngine();
    try {
      const enabled: string[] = [];
      const services = {
        enableCompletionGroup: (_app: string, id: string) => void enabled.push(id),
        close: async () => {},
      };
      const service = new TransferService(h.engine, services);
      const task = { command: 'true', args: [], cwd: null };
      assertThrowsCode(() => service.enableCompletionGroup('app', { id: '../../x', task }), 'BT_ERR_INVALID_ARGUMENT');
      service.enableCompletionGroup('app', { id: 'group-1', task });
      assert.deepEqual(enabled, ['group-1']);
    } finally {
      await h.close();
    }
  });
});
