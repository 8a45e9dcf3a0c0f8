import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_EXTRAS } from '../../src/core/default-extras.ts';
import { readExtras } from '../../src/core/extras-read.ts';
import { parseExtras } from '../schemas/extras-schemas.ts';

/** readExtras reads the store's rows without zod; parseExtras (operationExtrasSchema) is the reference. */
const DIGEST = `sha-256=:${'A'.repeat(43)}=:`;
const part = {
  name: 'f',
  fileName: 'a.bin',
  headers: [['x', 'y']],
  text: null,
  file: { path: '/a', size: 1, mtimeMs: 2, ino: 3 },
};
const valid: unknown[] = [
  {},
  [],
  { ...DEFAULT_EXTRAS },
  { body: { kind: 'none' }, extra: 'dropped' },
  { body: { kind: 'stream', spoolPath: '/s', spoolId: 'dropped' } },
  {
    body: { kind: 'multipart', parts: [part, { ...part, text: 't', file: null }], subType: 'form-data', boundary: 'b' },
  },
  { resumeProtocol: 'tus', ietfInteropVersion: 8, sendContentDigest: true, tusParallelUploads: 16 },
  { serverCredential: { userName: 'u', password: 'p', more: 1 }, proxyCredential: { userName: '', password: '' } },
  { successNotification: { summary: 's', body: 'b' }, notificationBatchId: 'n', completionGroupId: 'c' },
  { recoverableWebErrorStatuses: [0, 1000], expectedContentDigest: DIGEST, proxyEnv: { HTTP_PROXY: 'h' } },
  {
    contentDigest: 'sha-256=:x:',
    idempotencyKey: 'k',
    probedPlain: true,
    creationPending: true,
    tusSha256Checksum: true,
  },
  { session: { protocol: 'tus', uploadUrl: null } },
  {
    session: { protocol: 'download', uploadUrl: 'u', validator: null, totalBytes: 5, digest: 'd', digestRetried: true },
  },
  { session: { protocol: 'ftp', uploadUrl: 'u', appendBase: null, expiresAtMs: 3, other: 1 } },
  {
    session: {
      protocol: 'tus',
      uploadUrl: 'u',
      tusParts: [
        { start: 0, end: 5, uploadUrl: null, offset: 0 },
        { start: 5, end: 9, uploadUrl: 'p', offset: 2, expiresAtMs: null },
      ],
    },
  },
  { ietfInteropVersion: undefined, recoverableWebErrorStatuses: undefined },
];
const broken: unknown[] = [
  null,
  'x',
  { body: { kind: 'other' } },
  { body: null },
  { body: { kind: 'stream' } },
  { body: { kind: 'multipart', parts: [{ ...part, headers: [['x']] }], subType: 'a', boundary: 'b' } },
  {
    body: {
      kind: 'multipart',
      parts: [{ ...part, file: { path: '/a', size: '1', mtimeMs: 2, ino: 3 } }],
      subType: 'a',
      boundary: 'b',
    },
  },
  { resumeProtocol: 'ftp' },
  { ietfInteropVersion: 7 },
  { ietfInteropVersion: null },
  { tusParallelUploads: 0 },
  { tusParallelUploads: 17 },
  { tusParallelUploads: 1.5 },
  { tusParallelUploads: null },
  { sendContentDigest: 'yes' },
  { serverCredential: { userName: 'u' } },
  { successNotification: 'x' },
  { notificationBatchId: 3 },
  { recoverableWebErrorStatuses: [1001] },
  { recoverableWebErrorStatuses: Array.from({ length: 65 }, () => 1) },
  { recoverableWebErrorStatuses: null },
  { expectedContentDigest: 'sha-256=:short:' },
  { proxyEnv: { HTTP_PROXY: 3 } },
  { proxyEnv: [] },
  { contentDigest: 1 },
  { session: { protocol: 'plain', uploadUrl: null } },
  { session: { protocol: 'tus' } },
  { session: { protocol: 'tus', uploadUrl: null, appendBase: '1' } },
  { session: { protocol: 'tus', uploadUrl: null, digestRetried: null } },
  { session: { protocol: 'tus', uploadUrl: null, tusParts: [{ start: 0, end: 1, uploadUrl: null }] } },
  { session: { protocol: 'tus', uploadUrl: null, totalBytes: Number.POSITIVE_INFINITY } },
  { probedPlain: null },
  { creationPending: 0 },
];

test('readExtras gives parseExtras output on valid samples', () => {
  for (const sample of valid) assert.deepEqual(readExtras(sample), parseExtras(sample), JSON.stringify(sample));
});

test('readExtras refuses what parseExtras refuses', () => {
  for (const sample of broken) {
    assert.throws(() => parseExtras(sample), Error, `zod accepts ${JSON.stringify(sample)}: not a broken sample`);
    assert.throws(() => readExtras(sample), Error, JSON.stringify(sample));
  }
});
