import { TransferError } from '../core/errors.ts';
import type { OperationSpec } from '../core/snapshot.ts';
import { withUserinfoAsCredential } from '../core/url-credentials.ts';

/** Ids that name files in the home (a guid's response body, a completion group's task log). */
const SAFE_ID = /^[A-Za-z0-9_-]+$/;

/** Refuses an id that would not stay a plain file name in the home (`../x`, `a/b`, `.`). */
export function assertFileNameId(what: string, id: string): void {
  if (SAFE_ID.test(id)) return;
  throw new TransferError(
    'BT_ERR_INVALID_ARGUMENT',
    `the ${what} ${JSON.stringify(id.slice(0, 64))} may contain only letters, digits, "-" and "_"`,
  );
}

/**
 * What the engine takes from a client's OperationSpec beyond the request schema (core/operation-extras.ts
 * requestExtrasSchema, which already refuses every field the engine keeps for itself: sessions, probe
 * findings, spool paths, offsets). Any process of the user can send a spec (the socket is the user's), so:
 * - the guid becomes a file name (the response body), so it may not contain `/` or `.`;
 * - userinfo in the URI becomes the server credential (core/url-credentials.ts), so it is stored as a
 *   secret and never shown as part of the URI.
 * The source and part files are the app's own choice: the host reads them as the same OS user the app
 * runs as.
 */
export function acceptSpec(given: OperationSpec): OperationSpec {
  assertFileNameId('guid', given.guid);
  return withUserinfoAsCredential(given);
}
