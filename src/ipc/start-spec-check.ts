import { DEFAULT_REQUEST_EXTRAS } from '../core/default-extras.ts';
import { EXPECTED_DIGEST_PATTERN } from '../core/expected-digest.ts';
import type { OperationSpec } from '../core/snapshot.ts';
import { SPOOL_ID_PATTERN } from '../core/spool-id.ts';
import {
  arrayOf,
  BEHAVIORS,
  boolean,
  boundedInteger,
  boundedString,
  COST_POLICIES,
  fail,
  member,
  nullableString,
  number,
  onlyKnown,
  type Path,
  PRIORITIES,
  record,
  string,
  stringPair,
  TEXT_MAX,
  text,
} from './shape-check.ts';

/**
 * The host's check of a `start` request's spec: what an app may ask for and nothing else, by hand, with
 * the verdicts and output of `operationSpec` (methods.ts) and `requestExtrasSchema`
 * (core/operation-extras.ts). `request-check.test.ts` holds them together on valid and broken specs.
 *
 * A field the engine keeps for itself (a spool path, a resume session, a probe result, an offset) is
 * refused by name rather than dropped, so a forged or confused client learns what it did wrong. The
 * value is the request's own freshly parsed JSON, so it is checked and completed with the defaults in
 * place; only the objects the schemas strip (credentials, notifications) and the proxy variables are
 * copied.
 */

/** WebErrorStatus values (0–1000), at most 64: `recoverableWebErrorStatuses` in a spec and a change. */
export function webErrorStatuses(value: unknown, path: Path, key: string): void {
  const statuses = arrayOf(value, path, key, 64);
  for (let index = 0; index < statuses.length; index++) {
    boundedInteger(statuses[index], path, `${key}[${index}]`, 0, 1000);
  }
}

const ENGINE_STATE = 'a client sends only what an app asks for; the engine keeps its own state';

function refuseUnknown(what: string): (keys: string[]) => string {
  return (keys) => `${what} may not carry ${keys.join(', ')}: ${ENGINE_STATE} (spool, session, probe result, offsets)`;
}

const SPEC_KEYS = new Set([
  'guid',
  'appId',
  'method',
  'requestedUri',
  'sourcePath',
  'headers',
  'costPolicy',
  'priority',
  'group',
  'transferGroup',
  'extras',
  'download',
]);

/** Checks a start request's spec (methods.ts `operationSpec`) and returns it completed. */
export function checkSpec(value: unknown, path: Path): OperationSpec {
  const spec = record(value, path);
  onlyKnown(spec, SPEC_KEYS, path, (keys) => `spec may not carry ${keys.join(', ')}: ${ENGINE_STATE}`);
  boundedString(spec.guid, path, 'guid', 1, 200);
  boundedString(spec.appId, path, 'appId', 1, 1024);
  text(spec.method, path, 'method');
  text(spec.requestedUri, path, 'requestedUri');
  if (spec.sourcePath !== null) boundedString(spec.sourcePath, path, 'sourcePath', 1, 4096);
  const headers = arrayOf(spec.headers, path, 'headers', 1000);
  for (let index = 0; index < headers.length; index++) stringPair(headers[index], path, `headers[${index}]`, TEXT_MAX);
  member(COST_POLICIES, spec.costPolicy, path, 'costPolicy', 'a BackgroundTransferCostPolicy');
  member(PRIORITIES, spec.priority, path, 'priority', 'a BackgroundTransferPriority');
  if (spec.group !== null) text(spec.group, path, 'group');
  if (spec.transferGroup !== null) {
    const group = record(spec.transferGroup, path, 'transferGroup');
    onlyKnown(group, TRANSFER_GROUP_KEYS, `${path}.transferGroup`);
    text(group.name, path, 'transferGroup.name');
    member(BEHAVIORS, group.transferBehavior, path, 'transferGroup.transferBehavior', 'a BackgroundTransferBehavior');
  }
  if (spec.extras !== undefined) checkRequestExtras(spec.extras, `${path}.extras`);
  if (spec.download !== undefined) {
    const download = record(spec.download, path, 'download');
    onlyKnown(download, DOWNLOAD_KEYS, `${path}.download`);
    boundedString(download.resultPath, path, 'download.resultPath', 1, 4096);
  }
  // Every field OperationSpec declares was checked above, the extras completed with their defaults.
  return spec as unknown as OperationSpec;
}

const TRANSFER_GROUP_KEYS = new Set(['name', 'transferBehavior']);
const DOWNLOAD_KEYS = new Set(['resultPath']);
// DEFAULT_REQUEST_EXTRAS is typed as RequestExtras: it names every field, the body among them.
const EXTRAS_KEYS = new Set(Object.keys(DEFAULT_REQUEST_EXTRAS));
const RESUME_PROTOCOLS = new Set<unknown>(['auto', 'tus', 'ietf', 'none']);
const INTEROP_VERSIONS = new Set<unknown>([6, 8]);

/** `requestExtrasSchema`: the body and the fields an app chooses, the defaulted ones completed in place. */
function checkRequestExtras(value: unknown, path: Path): void {
  const extras = record(value, path);
  // The body first, as the schema reports it: a forged body (a spool path) is named before the rest.
  checkRequestBody(extras.body, `${path}.body`);
  onlyKnown(extras, EXTRAS_KEYS, path, refuseUnknown('spec.extras'));
  member(RESUME_PROTOCOLS, extras.resumeProtocol, path, 'resumeProtocol', '"auto", "tus", "ietf" or "none"');
  if (extras.ietfInteropVersion === undefined) extras.ietfInteropVersion = 6;
  else member(INTEROP_VERSIONS, extras.ietfInteropVersion, path, 'ietfInteropVersion', '6 or 8');
  if (extras.sendContentDigest === undefined) extras.sendContentDigest = false;
  else boolean(extras.sendContentDigest, path, 'sendContentDigest');
  if (extras.tusParallelUploads === undefined) extras.tusParallelUploads = 1;
  else boundedInteger(extras.tusParallelUploads, path, 'tusParallelUploads', 1, 16);
  extras.serverCredential = stringFields(extras.serverCredential, path, 'serverCredential', CREDENTIAL_FIELDS);
  extras.proxyCredential = stringFields(extras.proxyCredential, path, 'proxyCredential', CREDENTIAL_FIELDS);
  extras.successNotification = stringFields(
    extras.successNotification,
    path,
    'successNotification',
    NOTIFICATION_FIELDS,
  );
  extras.failureNotification = stringFields(
    extras.failureNotification,
    path,
    'failureNotification',
    NOTIFICATION_FIELDS,
  );
  nullableString(extras.notificationBatchId, path, 'notificationBatchId');
  nullableString(extras.completionGroupId, path, 'completionGroupId');
  if (extras.isRandomAccessRequired === undefined) extras.isRandomAccessRequired = false;
  else boolean(extras.isRandomAccessRequired, path, 'isRandomAccessRequired');
  if (extras.recoverableWebErrorStatuses === undefined) extras.recoverableWebErrorStatuses = [];
  else webErrorStatuses(extras.recoverableWebErrorStatuses, path, 'recoverableWebErrorStatuses');
  if (extras.expectedContentDigest === undefined) extras.expectedContentDigest = null;
  else if (extras.expectedContentDigest !== null) {
    const digest = extras.expectedContentDigest;
    if (typeof digest !== 'string' || !EXPECTED_DIGEST_PATTERN.test(digest)) {
      fail(path, 'sha-256=:<base64>: or sha-512=:<base64>:', 'expectedContentDigest');
    }
  }
  extras.proxyEnv = proxyEnv(extras.proxyEnv, path, 'proxyEnv');
}

/**
 * A nullable z.object of string fields (not strict): credentials and notifications. The known fields are
 * kept, anything else dropped, as the schema's output does.
 */
function stringFields<K extends string>(
  value: unknown,
  path: Path,
  key: string,
  names: readonly K[],
): Record<K, string> | null {
  if (value === null) return null;
  const given = record(value, path, key);
  const kept = {} as Record<K, string>;
  for (const name of names) {
    string(given[name], path, `${key}.${name}`);
    kept[name] = given[name] as string;
  }
  return kept;
}

const CREDENTIAL_FIELDS = ['userName', 'password'] as const;
const NOTIFICATION_FIELDS = ['summary', 'body'] as const;

/** z.record(string, string): a copy, without a `__proto__` key (zod skips it; it must not set a prototype). */
function proxyEnv(value: unknown, path: Path, key: string): Record<string, string> | null {
  if (value === null) return null;
  const given = record(value, path, key);
  const copy: Record<string, string> = {};
  for (const name of Object.keys(given)) {
    if (name === '__proto__') continue;
    string(given[name], path, `${key}.${name}`);
    copy[name] = given[name] as string;
  }
  return copy;
}

const FILE_BODY_KEYS = new Set(['kind']);
const MULTIPART_BODY_KEYS = new Set(['kind', 'parts', 'subType', 'boundary']);
const STREAM_BODY_KEYS = new Set(['kind', 'spoolId']);
const PART_KEYS = new Set(['name', 'fileName', 'headers', 'text', 'file']);
const FILE_IDENTITY_KEYS = new Set(['path', 'size', 'mtimeMs', 'ino']);

/** `requestBody`: a file, multipart parts, a spool the host made (by id, never by path), or none. */
function checkRequestBody(value: unknown, path: Path): void {
  const body = record(value, path);
  switch (body.kind) {
    case 'file':
      onlyKnown(body, FILE_BODY_KEYS, path, refuseUnknown('a file body'));
      return;
    case 'none':
      onlyKnown(body, FILE_BODY_KEYS, path, refuseUnknown('an empty body'));
      return;
    case 'stream':
      onlyKnown(body, STREAM_BODY_KEYS, path, refuseUnknown('a stream body'));
      if (typeof body.spoolId !== 'string' || !SPOOL_ID_PATTERN.test(body.spoolId)) {
        fail(path, 'an id from createSpool', 'spoolId');
      }
      return;
    case 'multipart': {
      onlyKnown(body, MULTIPART_BODY_KEYS, path, refuseUnknown('a multipart body'));
      const parts = arrayOf(body.parts, path, 'parts', Number.POSITIVE_INFINITY);
      for (let index = 0; index < parts.length; index++) checkPart(parts[index], `${path}.parts[${index}]`);
      string(body.subType, path, 'subType');
      string(body.boundary, path, 'boundary');
      return;
    }
    default:
      fail(path, '"file", "multipart", "stream" or "none"', 'kind');
  }
}

function checkPart(value: unknown, path: Path): void {
  const part = record(value, path);
  onlyKnown(part, PART_KEYS, path, refuseUnknown('a multipart part'));
  nullableString(part.name, path, 'name');
  nullableString(part.fileName, path, 'fileName');
  const headers = arrayOf(part.headers, path, 'headers', Number.POSITIVE_INFINITY);
  for (let index = 0; index < headers.length; index++) {
    stringPair(headers[index], path, `headers[${index}]`, Number.POSITIVE_INFINITY);
  }
  nullableString(part.text, path, 'text');
  if (part.file !== null) {
    const file = record(part.file, path, 'file');
    onlyKnown(file, FILE_IDENTITY_KEYS, `${path}.file`, refuseUnknown('a part file'));
    string(file.path, path, 'file.path');
    number(file.size, path, 'file.size');
    number(file.mtimeMs, path, 'file.mtimeMs');
    number(file.ino, path, 'file.ino');
  }
}
