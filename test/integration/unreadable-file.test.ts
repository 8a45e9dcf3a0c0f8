import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NODE_TS_FLAGS } from '../helpers/process-tools.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

/**
 * An unreadable file is refused with a coded error before anything is queued. Root reads
 * every file, so the probe drops to the unprivileged user `nobody` (CI runs as root) and tries a file
 * only root may read.
 */
const PROBE = fileURLToPath(new URL('../scripts/create-upload-probe.ts', import.meta.url));

async function probeAsNobody(file: string): Promise<string> {
  // The probe drops from root to nobody (uid 65534) after loading its modules.
  const child = spawn(process.execPath, [...NODE_TS_FLAGS, PROBE, file, '65534'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BGTRANSFER_HOME: '/tmp/bgtransfer-nobody-unused' },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, `the probe failed: ${output}`);
  return output.trim().split('\n').at(-1) ?? '';
}

test('a file the user cannot read → BT_ERR_FILE_UNREADABLE; a readable one is accepted', async () => {
  const dir = await makeTempDir('bgtransfer-unreadable-');
  try {
    await chmod(dir.path, 0o755);
    const secret = join(dir.path, 'secret.bin');
    const open = join(dir.path, 'open.bin');
    await writeFile(secret, 'only root');
    await writeFile(open, 'anyone');
    await chmod(secret, 0o600);
    await chmod(open, 0o644);
    assert.equal(await probeAsNobody(secret), 'BT_ERR_FILE_UNREADABLE');
    assert.equal(await probeAsNobody(open), 'ok');
  } finally {
    await dir.cleanup();
  }
});
