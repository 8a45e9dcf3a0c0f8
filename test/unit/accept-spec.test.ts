import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import type { OperationSpec } from '../../src/core/snapshot.ts';
import { acceptSpec } from '../../src/engine/accept-spec.ts';
import { TransferService } from '../../src/host/transfer-service.ts';
import { startEngine } from '../helpers/engine-harness.ts';
import { assertThrowsCode } from '../helpers/store-fixtures.ts';
import { makeTempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/**
 * What the engine checks in a client's spec beyond its schema (src/engine/accept-spec.ts); fields the engine
 * keeps for itself are refused by the schema (test/integration/host-trust.test.ts).
 */

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
    extras: { ...DEFAULT_REQUEST_EXTRAS },
    ...overrides,
  };
}

describe('acceptSpec', () => {
  test('a guid that is not a plain file name is refused', () => {
    for (const guid of ['../../x', 'a/b', '..', 'a.b']) {
      assertThrowsCode(() => acceptSpec(spec({ guid })), 'BT_ERR_INVALID_ARGUMENT');
    }
  });

  test('userinfo becomes the server credential', () => {
    const accepted = acceptSpec(spec({ requestedUri: 'https://u:p@example.com/up' }));
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
        busy: () => false,
        close: async () => {},
      };
      const service = new TransferService(h.engine, services);
      const task = { command: 'true', args: [], cwd: null };
      assertThrowsCode(
        () => service.enableCompletionGroup({ appId: 'app', holder: 'test' }, { group: { id: '../../x', task } }),
        'BT_ERR_INVALID_ARGUMENT',
      );
      service.enableCompletionGroup({ appId: 'app', holder: 'test' }, { group: { id: 'group-1', task } });
      assert.deepEqual(enabled, ['group-1']);
    } finally {
      await h.close();
    }
  });
});
