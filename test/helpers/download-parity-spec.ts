import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DEFAULT_REQUEST_EXTRAS, type RequestExtras } from '../../src/core/operation-extras.ts';
import type { OperationSpec } from '../../src/core/snapshot.ts';
import type { EngineHarness } from './engine-harness.ts';

let resultSerial = 0;

/** A GET download for the engine harness, into a fresh result file under `dir`. */
export function downloadSpec(
  h: EngineHarness,
  dir: string,
  uri: string,
  overrides: Partial<OperationSpec> = {},
  extras: Partial<RequestExtras> = {},
): { spec: OperationSpec; resultPath: string } {
  const resultPath = join(dir, `result-${++resultSerial}.bin`);
  const spec: OperationSpec = {
    ...h.spec({ sourcePath: '', requestedUri: uri }),
    method: 'GET',
    sourcePath: null,
    download: { resultPath },
    ...overrides,
    extras: { ...DEFAULT_REQUEST_EXTRAS, body: { kind: 'none' }, ...extras },
  };
  return { spec, resultPath };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
