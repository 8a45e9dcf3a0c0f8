import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { checkLayers } from '../../scripts/check-layers.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';

/** The dependency-direction check that `npm run lint` runs (scripts/check-layers.ts). */

let temp: TempDir;

before(async () => {
  temp = await makeTempDir('bt-layers-');
});

after(async () => {
  await temp.cleanup();
});

function tree(files: Record<string, string>): string {
  const src = join(temp.path, `case-${Math.random().toString(36).slice(2)}`, 'src');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(src, path)), { recursive: true });
    writeFileSync(join(src, path), text);
  }
  return src;
}

test('this repository’s src/ follows the layer order', () => {
  assert.deepEqual(checkLayers(), []);
});

test('an import upwards, a banned one and one between independent layers are each reported', () => {
  const src = tree({
    'core/a.ts': "import { x } from '../engine/b.ts';\n",
    'engine/b.ts': "export const x = 1;\nimport type { Y } from '../host/y.ts';\n",
    'host/y.ts': 'export type Y = number;\n',
    'api/c.ts': "import { z } from '../protocols/z.ts';\nconst later = import('../store/s.ts');\n",
    'protocols/z.ts': "export { s } from '../store/s.ts';\nexport const z = 1;\n",
    'store/s.ts': "import { x } from '../engine/b.ts';\nexport const s = 1;\n",
    'ipc/fine.ts': "import { x } from '../engine/b.ts';\nimport { y } from './sibling.ts';\n",
    'net/n.ts': "import '../source/ok.ts';\nimport '../engine/b.ts';\n",
    'source/ok.ts': 'export {};\n',
    'index.ts': "export * from './api/c.ts';\n",
  });
  const problems = checkLayers(src).map((line) => line.replace(/^.*?src\//, 'src/'));
  assert.deepEqual(problems.sort(), [
    'src/api/c.ts: imports src/protocols/z.ts (api never imports protocols)',
    'src/api/c.ts: imports src/store/s.ts (api never imports store)',
    'src/core/a.ts: imports src/engine/b.ts (core is below engine)',
    'src/engine/b.ts: imports src/host/y.ts (engine is below host)',
    'src/net/n.ts: imports src/engine/b.ts (net is below engine)',
    'src/protocols/z.ts: imports src/store/s.ts (protocols never imports store)',
    'src/store/s.ts: imports src/engine/b.ts (store is below engine)',
  ]);
});

test('a folder that is in no layer is an error, not a pass', () => {
  const src = tree({ 'widgets/w.ts': "import { x } from '../core/x.ts';\n", 'core/x.ts': 'export const x = 1;\n' });
  assert.throws(() => checkLayers(src), /src\/widgets is in no layer/);
});

test('the engine reaches a protocol only through the seam: the interface and the registry', () => {
  const src = tree({
    'engine/run.ts': [
      "import type { UploadProtocol } from '../protocols/upload-protocol.ts';",
      "import { PROTOCOLS } from '../protocols/registry.ts';",
      "import { encode } from '../protocols/multipart/body.ts';",
      "import { uploadTus } from '../protocols/tus/tus-upload.ts';",
      "const ftp = import('../protocols/ftp/ftp-upload.ts');",
      '',
    ].join('\n'),
    'protocols/upload-protocol.ts': 'export type UploadProtocol = object;\n',
    'protocols/registry.ts': "import { tus } from './tus/tus-adapter.ts';\nexport const PROTOCOLS = [tus];\n",
    'protocols/multipart/body.ts': 'export const encode = 1;\n',
    'protocols/tus/tus-adapter.ts': "import { uploadTus } from './tus-upload.ts';\nexport const tus = uploadTus;\n",
    'protocols/tus/tus-upload.ts': 'export const uploadTus = 1;\n',
    'protocols/ftp/ftp-upload.ts': 'export const uploadFtp = 1;\n',
  });
  const problems = checkLayers(src).map((line) => line.replace(/^.*?src\//, 'src/'));
  assert.deepEqual(problems.sort(), [
    'src/engine/run.ts: imports src/protocols/ftp/ftp-upload.ts (engine reaches protocols only through upload-protocol.ts, registry.ts and download-protocol.ts)',
    'src/engine/run.ts: imports src/protocols/tus/tus-upload.ts (engine reaches protocols only through upload-protocol.ts, registry.ts and download-protocol.ts)',
  ]);
});
