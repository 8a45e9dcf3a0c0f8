import { DEFAULT_REQUEST_EXTRAS } from './default-extras.ts';
import type { Credential } from './operation-extras.ts';
import type { OperationSpec } from './snapshot.ts';

/**
 * Userinfo in an upload URI (`https://user:pass@host/path`) is a server credential, as curl and
 * browsers treat it: it is taken out of the URI before the operation is stored, and used as the
 * `serverCredential` (Basic preemptively, Digest when asked, FTP login) unless the app set one, which
 * wins. So the stored and reported `requestedUri` never carries a password, and the credential lives
 * where `serverCredential` lives (the 0600 store, never in logs or output). HTTP never puts userinfo on
 * the request line.
 */
export interface SplitUri {
  /** The URI without userinfo (unchanged when it had none). */
  requestedUri: string;
  /** The app's credential if set, else the one from the URI, else null. */
  serverCredential: Credential | null;
}

export function splitUserinfo(uri: string, serverCredential: Credential | null): SplitUri {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return { requestedUri: uri, serverCredential };
  }
  if (url.username === '' && url.password === '') return { requestedUri: uri, serverCredential };
  const fromUri: Credential = { userName: decode(url.username), password: decode(url.password) };
  url.username = '';
  url.password = '';
  return { requestedUri: url.href, serverCredential: serverCredential ?? fromUri };
}

/** Userinfo is percent-encoded in a URL; a malformed escape is kept as written rather than refused. */
function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The spec as it is stored: userinfo moved from `requestedUri` into `extras.serverCredential`. */
export function withUserinfoAsCredential(spec: OperationSpec): OperationSpec {
  const extras = spec.extras ?? DEFAULT_REQUEST_EXTRAS;
  const split = splitUserinfo(spec.requestedUri, extras.serverCredential);
  if (split.requestedUri === spec.requestedUri) return spec;
  return { ...spec, requestedUri: split.requestedUri, extras: { ...extras, serverCredential: split.serverCredential } };
}
