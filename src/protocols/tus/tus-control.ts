import type { Dispatcher } from 'undici';
import { authenticatedExchange } from '../http/authenticated-exchange.ts';
import { CONTROL_TIMEOUT_MS, deleteUploadResource } from '../http/delete-upload-resource.ts';
import { findHeader, type HeaderList } from '../http/header-pairs.ts';
import type { ControlOptions } from '../http/resumable-types.ts';
import { ServerAuth } from '../http/server-auth.ts';
import { appHeaders, supportsTus1, tusHeaders } from './tus-protocol.ts';

/** Probes and terminations are small requests: an answer should come quickly. */

/**
 * Whether `url` (a creation endpoint) speaks tus 1.0.0: an OPTIONS answer (2xx) whose `Tus-Version`
 * lists 1.0.0 (spec § OPTIONS: "The Server MUST include Tus-Version"). Any other answer is false;
 * a network failure rejects with a TransferError.
 */
export async function probeTus(
  url: URL,
  dispatcher: Dispatcher,
  signal: AbortSignal,
  headers: HeaderList,
  options: ControlOptions = {},
): Promise<boolean> {
  return (await probeTusEndpoint(url, dispatcher, signal, headers, options)).tus;
}

/** What an OPTIONS answer says an endpoint speaks. */
export interface TusCapabilities {
  tus: boolean;
  /** The checksum extension with sha256 (`Tus-Extension` lists checksum, `Tus-Checksum-Algorithm` sha256). */
  sha256Checksum: boolean;
}

/** probeTus, plus whether the endpoint checks `Upload-Checksum: sha256` (checksum extension). */
export async function probeTusEndpoint(
  url: URL,
  dispatcher: Dispatcher,
  signal: AbortSignal,
  headers: HeaderList,
  options: ControlOptions = {},
): Promise<TusCapabilities> {
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
  const tus =
    response.status >= 200 && response.status < 300 && supportsTus1(findHeader(response.headers, 'tus-version'));
  const listed = (name: string, value: string) =>
    (findHeader(response.headers, name) ?? '').split(',').some((item) => item.trim().toLowerCase() === value);
  return {
    tus,
    sha256Checksum: tus && listed('tus-extension', 'checksum') && listed('tus-checksum-algorithm', 'sha256'),
  };
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
