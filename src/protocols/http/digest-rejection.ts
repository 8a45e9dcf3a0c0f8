import { open } from 'node:fs/promises';
import { findHeader, type HeaderPairs } from './header-pairs.ts';

/**
 * The problem type (RFC 9457) a server uses for "the representation's digest does not match the
 * `Repr-Digest` the request carried" (HTTP Problem Types for Digest Fields, the httpapi working
 * group's draft: `…/http-problem-types#digest-mismatch`, with 400 Bad Request).
 */
const DIGEST_MISMATCH_TYPE = /#digest-mismatch$/;

/** A problem document is small; reading more of a response body than this is not worth it. */
const PROBLEM_READ_LIMIT = 64 * 1024;

/** A body altered in flight this many times in a row is not an accident: the upload fails. */
export const MAX_DIGEST_RESENDS = 3;

/**
 * Whether a final answer rejects the body because its digest did not match the request's
 * `Repr-Digest`: 400 with an `application/problem+json` body of type `…#digest-mismatch`, read from
 * where the response body was written. Any other 400 is the server's verdict on the request and is
 * not retried.
 */
export async function isDigestMismatch(status: number, headers: HeaderPairs, bodyPath: string): Promise<boolean> {
  if (status !== 400) return false;
  const type = findHeader(headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/problem+json') return false;
  let text: string;
  try {
    const file = await open(bodyPath, 'r');
    try {
      const buffer = Buffer.alloc(PROBLEM_READ_LIMIT);
      const { bytesRead } = await file.read(buffer, 0, PROBLEM_READ_LIMIT, 0);
      text = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await file.close();
    }
  } catch {
    return false;
  }
  try {
    const problem: unknown = JSON.parse(text);
    return (
      typeof problem === 'object' &&
      problem !== null &&
      'type' in problem &&
      typeof problem.type === 'string' &&
      DIGEST_MISMATCH_TYPE.test(problem.type)
    );
  } catch {
    return false;
  }
}
