import { DEFAULT_EXTRAS } from './default-extras.ts';
import { EXPECTED_DIGEST_PATTERN } from './expected-digest.ts';
import { isHeaderPair } from './header-list.ts';
import type { OperationExtras, UploadSession } from './operation-extras.ts';

const isOwnEnumerable = Object.prototype.propertyIsEnumerable;

/**
 * A stored extrasJson value read back by hand: the store's every row read goes through it, and zod's
 * import and first parse were most of what an in-process app paid for zod before its first byte. It
 * gives operationExtrasSchema's verdict and output (fields the schema does not know are dropped,
 * defaults filled, rows written before a field existed read with DEFAULT_EXTRAS'); a unit test holds
 * it to the schema on valid and broken samples. Throws on anything else (the store reports
 * BT_ERR_STORE).
 */
export function readExtras(value: unknown): OperationExtras {
  // As parseExtras: any object (even an array) is spread over the defaults; its unknown keys dropped.
  if (typeof value !== 'object' || value === null) fail('extras');
  // The value's own enumerable keys win over the defaults, as a spread would merge them, without the
  // merged copy: a row read builds one extras object, not two (this runs for every row the store reads).
  const given = value as Record<string, unknown>;
  const defaults: Record<string, unknown> = DEFAULT_EXTRAS;
  const v = (key: string) => (isOwnEnumerable.call(given, key) ? given[key] : defaults[key]);
  return {
    body: body(v('body')),
    resumeProtocol: oneOf(v('resumeProtocol'), ['auto', 'tus', 'ietf', 'none'] as const, 'resumeProtocol'),
    ietfInteropVersion: oneOf(orDefault(v('ietfInteropVersion'), 6), [6, 8] as const, 'ietfInteropVersion'),
    sendContentDigest: bool(orDefault(v('sendContentDigest'), false), 'sendContentDigest'),
    tusParallelUploads: int(orDefault(v('tusParallelUploads'), 1), 'tusParallelUploads', 1, 16),
    serverCredential: nullable(v('serverCredential'), credential),
    proxyCredential: nullable(v('proxyCredential'), credential),
    successNotification: nullable(v('successNotification'), notification),
    failureNotification: nullable(v('failureNotification'), notification),
    notificationBatchId: nullable(v('notificationBatchId'), str),
    completionGroupId: nullable(v('completionGroupId'), str),
    isRandomAccessRequired: bool(orDefault(v('isRandomAccessRequired'), false), 'isRandomAccessRequired'),
    recoverableWebErrorStatuses: statuses(orDefault(v('recoverableWebErrorStatuses'), [])),
    expectedContentDigest: nullable(orDefault(v('expectedContentDigest'), null), (text) => {
      const digest = str(text, 'expectedContentDigest');
      if (!EXPECTED_DIGEST_PATTERN.test(digest)) fail('expectedContentDigest');
      return digest;
    }),
    proxyEnv: nullable(v('proxyEnv'), (env) => {
      const entries = Object.entries(object(env, 'proxyEnv'));
      return Object.fromEntries(entries.map(([name, text]) => [name, str(text, 'proxyEnv')]));
    }),
    contentDigest: nullable(orDefault(v('contentDigest'), null), str),
    session: nullable(v('session'), session),
    tusSha256Checksum: bool(orDefault(v('tusSha256Checksum'), false), 'tusSha256Checksum'),
    probedPlain: bool(v('probedPlain'), 'probedPlain'),
    idempotencyKey: nullable(v('idempotencyKey'), str),
    creationPending: bool(v('creationPending'), 'creationPending'),
  };
}

/** zod's `.default()`: only a missing value takes the default (null does not). */
function orDefault(value: unknown, fallback: unknown): unknown {
  return value === undefined ? fallback : value;
}

function fail(what: string): never {
  throw new Error(`extras: ${what} has an unexpected shape`);
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(what);
  return value as Record<string, unknown>;
}

function str(value: unknown, what = 'a text field'): string {
  return typeof value === 'string' ? value : fail(what);
}

function num(value: unknown, what: string): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fail(what);
}

function int(value: unknown, what: string, min: number, max: number): number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max
    ? (value as number)
    : fail(what);
}

function bool(value: unknown, what: string): boolean {
  return typeof value === 'boolean' ? value : fail(what);
}

function oneOf<T extends string | number>(value: unknown, members: readonly T[], what: string): T {
  return members.includes(value as T) ? (value as T) : fail(what);
}

function nullable<T>(value: unknown, read: (value: unknown) => T): T | null {
  return value === null ? null : read(value);
}

/** An optional field: absent stays absent (as zod's `.optional()` leaves it). */
function optional<T>(
  into: Record<string, unknown>,
  from: Record<string, unknown>,
  key: string,
  read: (value: unknown) => T,
) {
  if (key in from && from[key] !== undefined) into[key] = read(from[key]);
  else if (key in from) into[key] = undefined;
}

function statuses(value: unknown): number[] {
  if (!Array.isArray(value) || value.length > 64) fail('recoverableWebErrorStatuses');
  return value.map((status) => int(status, 'recoverableWebErrorStatuses', 0, 1000));
}

function credential(value: unknown): { userName: string; password: string } {
  const given = object(value, 'a credential');
  return { userName: str(given.userName, 'a credential'), password: str(given.password, 'a credential') };
}

function notification(value: unknown): { summary: string; body: string } {
  const given = object(value, 'a notification');
  return { summary: str(given.summary, 'a notification'), body: str(given.body, 'a notification') };
}

function headers(value: unknown): [string, string][] {
  if (!Array.isArray(value) || !value.every(isHeaderPair)) fail('headers');
  return value.map(([name, text]) => [name, text]);
}

function body(value: unknown): OperationExtras['body'] {
  const given = object(value, 'body');
  switch (given.kind) {
    case 'file':
      return { kind: 'file' };
    case 'none':
      return { kind: 'none' };
    case 'stream':
      return { kind: 'stream', spoolPath: str(given.spoolPath, 'body') };
    case 'multipart': {
      if (!Array.isArray(given.parts)) fail('body');
      const parts = given.parts.map((part) => {
        const p = object(part, 'a part');
        return {
          name: nullable(p.name, str),
          fileName: nullable(p.fileName, str),
          headers: headers(p.headers),
          text: nullable(p.text, str),
          file: nullable(p.file, fileIdentity),
        };
      });
      return { kind: 'multipart', parts, subType: str(given.subType, 'body'), boundary: str(given.boundary, 'body') };
    }
    default:
      return fail('body');
  }
}

function fileIdentity(value: unknown): { path: string; size: number; mtimeMs: number; ino: number } {
  const f = object(value, 'a file');
  return {
    path: str(f.path, 'a file'),
    size: num(f.size, 'a file'),
    mtimeMs: num(f.mtimeMs, 'a file'),
    ino: num(f.ino, 'a file'),
  };
}

function session(value: unknown): UploadSession {
  const given = object(value, 'session');
  // The optional fields are filled in by name below (`optional`), so the object is also a record.
  const out: UploadSession & Record<string, unknown> = {
    protocol: oneOf(given.protocol, ['tus', 'ietf', 'ftp', 'download'] as const, 'session'),
    uploadUrl: nullable(given.uploadUrl, str),
  };
  const nullableNumber = (field: unknown) => nullable(field, (n) => num(n, 'session'));
  optional(out, given, 'appendBase', nullableNumber);
  optional(out, given, 'expiresAtMs', nullableNumber);
  optional(out, given, 'validator', (field) => nullable(field, str));
  optional(out, given, 'totalBytes', nullableNumber);
  optional(out, given, 'digest', (field) => nullable(field, str));
  optional(out, given, 'digestRetried', (field) => bool(field, 'session'));
  optional(out, given, 'tusParts', (parts) => {
    if (!Array.isArray(parts)) fail('session');
    return parts.map((part) => {
      const p = object(part, 'session');
      const read: Record<string, unknown> = {
        start: num(p.start, 'session'),
        end: num(p.end, 'session'),
        uploadUrl: nullable(p.uploadUrl, str),
        offset: num(p.offset, 'session'),
      };
      optional(read, p, 'expiresAtMs', nullableNumber);
      return read;
    });
  });
  return out;
}
