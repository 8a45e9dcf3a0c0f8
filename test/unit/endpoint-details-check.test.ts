import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { checkDetails } from '../../src/store/endpoint-capability.ts';

/** The schema the details column was read with before the hand check; the check must agree with it. */
const DETAILS = z
  .object({
    tusExtensions: z.array(z.string()).optional(),
    tusMaxSize: z.number().int().nonnegative().optional(),
    tusSha256Checksum: z.boolean().optional(),
    ietfInteropVersion: z.number().int().positive().optional(),
  })
  .strict();

const SAMPLES: unknown[] = [
  {},
  { tusExtensions: ['creation', 'termination'], tusMaxSize: 0, tusSha256Checksum: true },
  { tusExtensions: [] },
  { ietfInteropVersion: 8 },
  { tusMaxSize: Number.MAX_SAFE_INTEGER },
  { tusMaxSize: Number.MAX_SAFE_INTEGER + 2 },
  { tusMaxSize: -1 },
  { tusMaxSize: 1.5 },
  { tusMaxSize: '5' },
  { tusMaxSize: null },
  { tusMaxSize: Number.POSITIVE_INFINITY },
  { ietfInteropVersion: 0 },
  { ietfInteropVersion: 6.5 },
  { tusExtensions: ['creation', 3] },
  { tusExtensions: 'creation' },
  { tusSha256Checksum: 'yes' },
  { tusSha256Checksum: null },
  { other: 1 },
  { tusExtensions: [], other: undefined },
  null,
  [],
  'tus',
  3,
];

test('checkDetails gives the zod schema verdict and output on every sample', () => {
  for (const sample of SAMPLES) {
    const zod = DETAILS.safeParse(sample);
    assert.deepEqual(checkDetails(sample), zod.success ? zod.data : undefined, JSON.stringify(sample));
  }
});
