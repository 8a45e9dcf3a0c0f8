import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openTransferService } from '../../src/host/open-transfer-service.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

/**
 * docs/api/config.md: a running engine picks up a changed config.json without a restart; an invalid
 * edit is refused (logged) and the settings in force stay.
 */
test('config.json changes apply while running; a bad edit keeps the previous settings', async () => {
  const dir = await makeTempDir('config-reload-');
  const home = join(dir.path, 'home');
  await mkdir(home, { recursive: true });
  const config = join(home, 'config.json');
  await writeFile(config, JSON.stringify({ maxAttempts: 4 }));
  const service = await openTransferService(home, { ...process.env, BGTRANSFER_LOG_LEVEL: 'silent' });
  try {
    assert.equal(service.config.maxAttempts, 4);
    await writeFile(config, JSON.stringify({ maxAttempts: 7, maxConcurrentTransfers: 2 }));
    await waitFor('the new settings', () => service.config.maxAttempts === 7, 5_000);
    assert.equal(service.config.maxConcurrentTransfers, 2);
    await writeFile(config, JSON.stringify({ maxAttempts: 'many' }));
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.equal(service.config.maxAttempts, 7, 'an invalid file changes nothing');
  } finally {
    await service.close();
    await dir.cleanup();
  }
});
