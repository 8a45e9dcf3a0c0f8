import type { Dispatcher } from 'undici';
import { TransferError } from '../../core/errors.ts';
import { authenticatedExchange } from './authenticated-exchange.ts';
import type { HeaderList } from './header-pairs.ts';
import { requestMessage } from './request-messages.ts';
import { headersForOrigin, parseSessionUrl } from './resumable-step.ts';
import type { ControlOptions } from './resumable-types.ts';
import { ServerAuth } from './server-auth.ts';

/** Control requests (DELETE, OPTIONS) wait this long for an answer unless told otherwise. */
export const CONTROL_TIMEOUT_MS = 30_000;

/**
 * DELETE an upload resource so the server frees its storage — the tus termination extension and the
 * IETF draft's upload cancellation alike. An upload the server no longer knows (404/410) counts as
 * deleted; another non-2xx answer rejects with BT_ERR_HTTP_STATUS.
 */
export async function deleteUploadResource(
  uploadUrl: string,
  headers: HeaderList,
  dispatcher: Dispatcher,
  signal: AbortSignal,
  options: ControlOptions,
): Promise<void> {
  const url = parseSessionUrl(uploadUrl);
  const scope = options.credentialScope ?? url;
  const response = await authenticatedExchange(
    {
      url,
      method: 'DELETE',
      headers: headersForOrigin(headers, url, scope),
      body: null,
      dispatcher,
      signal,
      responseTimeoutMs: options.responseTimeoutMs ?? CONTROL_TIMEOUT_MS,
      stallTimeoutMs: 0,
    },
    ServerAuth.create(options.credentials, scope),
  );
  const status = response.status;
  if ((status >= 200 && status < 300) || status === 404 || status === 410) return;
  throw new TransferError('BT_ERR_HTTP_STATUS', requestMessage('DELETE', url, `the server answered ${status}`), {
    httpStatus: status,
  });
}
