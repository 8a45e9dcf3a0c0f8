import { join, resolve, sep } from 'node:path';
import { TransferError } from '../core/errors.ts';
import { DEFAULT_EXTRAS } from '../core/operation-extras.ts';
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
 * What the engine takes from a client's OperationSpec, and what it decides itself. Any process of the
 * user can send a spec (the socket is the user's), so nothing that names the host's own state is taken
 * as given:
 * - the guid becomes a file name (the response body), so it may not contain `/` or `.`;
 * - the server-side session (upload URL, FTP append base) and the "plain server" finding are learned
 *   from the server by the engine, never from the client;
 * - a stream body's spool file must lie in `$BGTRANSFER_HOME/spool`, because the engine deletes it when
 *   the operation ends;
 * - userinfo in the URI becomes the server credential (core/url-credentials.ts).
 * Offsets and byte counts are not in a spec at all. The source and part files are the app's own choice:
 * the host reads them as the same OS user the app runs as.
 */
export function acceptSpec(given: OperationSpec, home: string): OperationSpec {
  assertFileNameId('guid', given.guid);
  const spec = withUserinfoAsCredential(given);
  const extras = spec.extras ?? DEFAULT_EXTRAS;
  if (extras.body.kind === 'stream') {
    const spoolDir = join(resolve(home), 'spool') + sep;
    if (!resolve(extras.body.spoolPath).startsWith(spoolDir)) {
      throw new TransferError(
        'BT_ERR_INVALID_ARGUMENT',
        `a stream body must be spooled in ${spoolDir} (the engine deletes it when the upload ends)`,
      );
    }
  }
  return { ...spec, extras: { ...extras, session: null, probedPlain: false } };
}
