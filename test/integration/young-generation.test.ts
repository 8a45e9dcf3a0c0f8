import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';

/**
 * Opening the in-process engine does not grow V8's young generation (core/young-generation.ts), and
 * the app's process grows it as V8 would afterwards. Sizes, not timings: V8 sizes the young generation
 * in steps (1, 2, 4, 8, 16 MiB of semi-space), so the checks are on whole steps.
 */

const PORTS = fileURLToPath(new URL('../../src/api/port-provider.ts', import.meta.url));
let dir: TempDir;

before(async () => {
  dir = await makeTempDir('young-generation-');
});

after(async () => {
  await dir.cleanup();
});

async function newSpaceSizes(
  home: string,
): Promise<{ beforeOpen: number; afterOpen: number; afterAllocating: number }> {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    const { getPort, closeAsync } = await import(${JSON.stringify(PORTS)});
    const newSpace = () => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size;
    const beforeOpen = newSpace();
    await getPort();
    const afterOpen = newSpace();
    // Many objects that survive: what makes V8 grow the young generation.
    const kept = [];
    for (let index = 0; index < 2_000_000; index++) kept.push({ index, text: String(index) });
    const afterAllocating = newSpace();
    console.log(JSON.stringify({ beforeOpen, afterOpen, afterAllocating, kept: kept.length }));
    await closeAsync();
  `;
  const child = spawnNode(['--input-type=module', '--eval', script], {
    env: { BGTRANSFER_HOST: 'inproc', BGTRANSFER_HOME: home },
  });
  const exit = await child.exited;
  assert.equal(exit.code, 0, child.stderrLines.join('\n'));
  const line = child.stdoutLines.find((candidate) => candidate.startsWith('{"beforeOpen"'));
  assert.ok(line, child.stdoutLines.join('\n'));
  return JSON.parse(line) as { beforeOpen: number; afterOpen: number; afterAllocating: number };
}

test('the in-process engine opens without growing the young generation; the app still grows it', {
  timeout: 60_000,
}, async () => {
  const sizes = await newSpaceSizes(join(dir.path, 'home'));
  const MiB = 1024 * 1024;
  // Without the hold the open grew it to 16 MiB (from 4 after the package's import under tsx).
  assert.ok(sizes.afterOpen <= Math.max(sizes.beforeOpen, 4 * MiB), `after the open: ${sizes.afterOpen / MiB} MiB`);
  // V8's own growth is back: the app's surviving objects grow it beyond where the open left it.
  assert.ok(sizes.afterAllocating > sizes.afterOpen, `after allocating: ${sizes.afterAllocating / MiB} MiB`);
});
