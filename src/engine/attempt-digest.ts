import type { OperationExtras } from '../core/operation-extras.ts';
import { DigestingBody } from '../source/digesting-body.ts';
import type { OperationRecord } from '../store/operation-record.ts';
import { openBody } from './body-factory.ts';

/**
 * The body of an attempt, hashed as it is read (UploadOperation.contentDigest; docs/protocols.md,
 * "Integrity"). Made per attempt: a hash state cannot be stored, so a resumed attempt hashes the
 * already-sent prefix again (DigestingBody).
 */
export interface AttemptBody {
  source: DigestingBody;
  /** multipart/<subType>; boundary=… for multipart bodies, else undefined (the app's header stands). */
  contentType: string | undefined;
}

export function openAttemptBody(record: OperationRecord): AttemptBody {
  const { source, contentType } = openBody(record, record.extras.body);
  return { source: new DigestingBody(source), contentType };
}

/**
 * The extras with the digest, once the attempt read the whole body, whatever its outcome (undefined
 * when there is nothing new to store): the bytes are those of the recorded file (a changed file fails
 * the read), so a later attempt would find the same digest.
 */
export function withContentDigest(extras: OperationExtras, source: DigestingBody): OperationExtras | undefined {
  const digest = source.value;
  if (digest === null || extras.contentDigest === digest) return undefined;
  return { ...extras, contentDigest: digest };
}

/**
 * The headers plus `Repr-Digest` (RFC 9530) when the app asked for it (sendContentDigest) and the
 * protocol carries it in a header (its `reprDigest` capability; a protocol that checks integrity per
 * request does not). A header goes before the body, so this reads the body once before sending it.
 * An app that set its own Repr-Digest keeps it.
 */
export async function withReprDigest(
  headers: Array<[string, string]>,
  source: DigestingBody,
  carried: boolean,
  send: boolean,
): Promise<Array<[string, string]>> {
  if (!send || !carried) return headers;
  if (headers.some(([name]) => name.toLowerCase() === 'repr-digest')) return headers;
  return [...headers, ['Repr-Digest', await source.complete()]];
}
