import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BackgroundTransferStatus as S } from '../../src/core/enums.ts';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { probeTus } from '../../src/protocols/tus/tus-control.ts';
import { startEngine } from '../helpers/engine-harness.ts';
import { type Lighttpd, startLighttpd } from '../helpers/lighttpd.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

const MiB = 1024 * 1024;

let dir: TempDir;
let file: RandomFile;
let lighttpd: Lighttpd;

before(async () => {
  dir = await makeTempDir('interop-lighttpd-');
  file = await writeRandomFile(dir.path, 'file.bin', 3 * MiB + 5);
  lighttpd = await startLighttpd();
});

after(async () => {
  await lighttpd?.stop();
  await dir?.cleanup();
});

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

test('the tus probe decides on the status and headers of lighttpd’s OPTIONS answer, whose chunked body never comes', async () => {
  const dispatcher = createDispatcher({ connectTimeoutMs: 10_000, extraCaCertificates: [] });
  try {
    const started = performance.now();
    const tus = await probeTus(new URL(`${lighttpd.davUrl}probe.bin`), dispatcher, new AbortController().signal, [], {
      responseTimeoutMs: 20_000,
    });
    const elapsedMs = performance.now() - started;
    assert.equal(tus, false);
    assert.ok(elapsedMs < 10_000, `the probe took ${Math.round(elapsedMs)} ms`);
  } finally {
    await dispatcher.close();
  }
});

test('a PUT with the default resumeProtocol "auto" to lighttpd’s mod_webdav completes at the first attempt', async () => {
  const harness = await startEngine({ maxAttempts: 1 });
  try {
    const started = performance.now();
    const { guid } = harness.engine.start(
      harness.spec({
        sourcePath: file.path,
        requestedUri: `${lighttpd.davUrl}auto.bin`,
        extras: { ...DEFAULT_REQUEST_EXTRAS, resumeProtocol: 'auto' },
      }),
    );
    const final = await harness.waitFor(
      guid,
      (snapshot) => snapshot.progress.status === S.completed || snapshot.progress.status === S.error,
      60_000,
    );
    const elapsedMs = performance.now() - started;
    assert.equal(final.progress.status, S.completed, JSON.stringify(final.error ?? null));
    assert.equal(final.response?.statusCode, 201);
    assert.equal(await sha256Of(join(lighttpd.root, 'auto.bin')), file.sha256);
    assert.ok(elapsedMs < 20_000, `the upload took ${Math.round(elapsedMs)} ms`);
  } finally {
    await harness.close();
  }
});
