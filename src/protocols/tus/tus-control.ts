import type { Dispatcher } from 'undici';
import { authenticatedExchange } from '../http/authenticated-exchange.ts';
import { CONTROL_TIMEOUT_MS, deleteUploadResource } from '../http/delete-upload-resource.ts';
import { findHeader, type HeaderList } from '../http/header-pairs.ts';
import type { ControlOptions } from '../http/resumable-types.ts';
import { ServerAuth } from '../http/server-auth.ts';
import { appHeaders, supportsTus1, tusHeaders } from './tus-protocol.ts';

/** Probes and terminations are small requests: an answer should come quickly. */

/** What an OPTIONS probe learned; `decisive` is false for an answer that says nothing about the server. */
export interface TusProbe {
  tus: boolean;
  /** The answer describes the endpoint itself (2xx, or 404/405/501: no OPTIONS there), worth remembering. */
  decisive: boolean;
  extensions: string[];
  maxSize: number | undefined;
  /** The checksum extension with sha256 (`Tus-Extension` lists checksum, `Tus-Checksum-Algorithm` sha256). */
  sha256Checksum: boolean;
}

/**
 * Statuses that say the endpoint has no OPTIONS handler at all: a plain server. Others (401, 403, 407,
 * 5xx, …) may be about this request or this moment, so they decide only the current attempt.
 */
const NO_OPTIONS_STATUSES: ReadonlySet<number> = new Set([404, 405, 501]);

/**
 * Whether `url` (a creation endpoint) speaks tus 1.0.0: an OPTIONS answer (2xx) whose `Tus-Version`
 * lists 1.0.0 (spec § OPTIONS: "The Server MUST include Tus-Version"), with its Tus-Extension and
 * Tus-Max-Size. Any other answer is not tus; a network failure rejects with a TransferError.
 */
export async function probeTusEndpoint(
  url: URL,
  dispatcher: Dispatcher,
  signal: AbortSignal,
  headers: HeaderList,
  options: ControlOptions = {},
): Promise<TusProbe> {
  const response = await authenticatedExchange(
    {
      url,
      method: 'OPTIONS',
      // "…except for OPTIONS requests": the probe carries no Tus-Resumable.
      headers: appHeaders(headers),
      body: null,
      dispatcher,
      signal,
      responseTimeoutMs: options.responseTimeoutMs ?? CONTROL_TIMEOUT_MS,
      stallTimeoutMs: 0,
      // The answer is in the status and headers; the body is never waited for.
      chooseSink: () => ({ kind: 'headers' }),
    },
    ServerAuth.create(options.credentials, options.credentialScope ?? url),
  );
  const ok = response.status >= 200 && response.status < 300;
  const tus = ok && supportsTus1(findHeader(response.headers, 'tus-version'));
  const extensions = (findHeader(response.headers, 'tus-extension') ?? '')
    .split(',')
    .map((extension) => extension.trim())
    .filter((extension) => extension !== '');
  const maxSize = Number(findHeader(response.headers, 'tus-max-size'));
  const listed = (name: string, value: string) =>
    (findHeader(response.headers, name) ?? '').split(',').some((item) => item.trim().toLowerCase() === value);
  return {
    tus,
    decisive: ok || NO_OPTIONS_STATUSES.has(response.status),
    extensions: tus ? extensions : [],
    maxSize: tus && Number.isSafeInteger(maxSize) && maxSize >= 0 ? maxSize : undefined,
    sha256Checksum: tus && listed('tus-extension', 'checksum') && listed('tus-checksum-algorithm', 'sha256'),
  };
}

/** probeTusEndpoint, as a yes or no. */
export async function probeTus(
  url: URL,
  dispatcher: Dispatcher,
  signal: AbortSignal,
  headers: HeaderList,
  options: ControlOptions = {},
): Promise<boolean> {
  return (await probeTusEndpoint(url, dispatcher, signal, headers, options)).tus;
}

/**
 * Termination extension: DELETE the upload so the server frees its storage. An upload the server
 * no longer knows (404/410) counts as terminated; another non-2xx answer rejects with BT_ERR_HTTP_STATUS.
 */
export function terminateTus(
  uploadUrl: string,
  dispatcher: Dispatcher,
  headers: HeaderList,
  signal: AbortSignal,
  options: ControlOptions = {},
): Promise<void> {
  return deleteUploadResource(uploadUrl, tusHeaders(headers), dispatcher, signal, options);
}

/**
 * terminateTus for every upload that has a URL (a concatenated upload's final upload and its parts),
 * all at once. Each is tried even when another fails; then the first failure rejects.
 */
export async function terminateTusUploads(
  uploadUrls: ReadonlyArray<string | null | undefined>,
  dispatcher: Dispatcher,
  headers: HeaderList,
  signal: AbortSignal,
  options: ControlOptions = {},
): Promise<void> {
  const urls = [...new Set(uploadUrls.filter((url): url is string => typeof url === 'string' && url !== ''))];
  const results = await Promise.allSettled(urls.map((url) => terminateTus(url, dispatcher, headers, signal, options)));
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}
