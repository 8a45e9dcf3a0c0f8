import { TransferError } from '../../core/errors.ts';
import type { ResponseSnapshot } from '../../core/snapshot.ts';
import { authenticatedExchange } from './authenticated-exchange.ts';
import { isDigestMismatch, MAX_DIGEST_RESENDS } from './digest-rejection.ts';
import type { ResponseSink } from './exchange.ts';
import { responseBodySink } from './exchange-types.ts';
import { CLIENT_OWNED_HEADERS, contentLength, findHeader, type HeaderList, withoutHeaders } from './header-pairs.ts';
import type { HttpUploadInput, HttpUploadResult } from './http-upload-types.ts';
import { redirectTarget } from './redirect-target.ts';
import { requestMessage } from './request-messages.ts';
import { ServerAuth } from './server-auth.ts';

/** 307/308 keep method and body: the whole request is sent again to the new location. */
const RESEND_STATUSES: ReadonlySet<number> = new Set([307, 308]);
/** These would turn the upload into a GET or drop its body, so they fail the upload instead. */
const REFUSED_REDIRECT_STATUSES: ReadonlySet<number> = new Set([300, 301, 302, 303, 305]);
/** Never sent to an origin the app did not address; `host` would name the old origin. */
const ORIGIN_BOUND_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'host']);

/**
 * Uploads the body as the raw content of one HTTP(S) request and returns the final response.
 * 307/308 re-send the whole body to the new location (up to `maxRedirects`); 300–305 fail with
 * BT_ERR_REDIRECT_NOT_ALLOWED; every other status is returned for the caller to judge. With
 * `credentials`, a Digest challenge (401) re-sends the body with Digest credentials (ServerAuth);
 * a 401 that persists is returned like any other status. A request that carried `Repr-Digest` and is
 * answered 400 "digest mismatch" (the body arrived altered) is sent again from byte 0, at most
 * MAX_DIGEST_RESENDS times (each announced through onRestart), then fails with BT_ERR_CHECKSUM_MISMATCH.
 * Rejects with a TransferError, or with `input.signal.reason` when aborted.
 */
export async function uploadHttp(input: HttpUploadInput): Promise<HttpUploadResult> {
  const carriesDigest = findHeader(input.headers, 'repr-digest') !== undefined;
  for (let resends = 0; ; resends += 1) {
    const result = await sendRequest(input);
    const { statusCode, headers, actualUri } = result.response;
    if (!carriesDigest || !(await isDigestMismatch(statusCode, headers, input.responseBodyPath))) {
      return result;
    }
    // The body arrived altered (its digest differs from Repr-Digest): the server kept nothing of it,
    // so it is sent again from byte 0, a few times at most.
    if (resends >= MAX_DIGEST_RESENDS) {
      throw new TransferError(
        'BT_ERR_CHECKSUM_MISMATCH',
        requestMessage(
          input.method,
          new URL(actualUri),
          `the server answered 400 (digest mismatch: the body it received does not match Repr-Digest) ${resends + 1} times`,
        ),
        { httpStatus: statusCode },
      );
    }
    input.signal.throwIfAborted();
    input.onRestart?.();
    input.onBytesSent(0);
  }
}

/** One request with the body, following 307/308; see uploadHttp. */
async function sendRequest(input: HttpUploadInput): Promise<HttpUploadResult> {
  input.signal.throwIfAborted();
  const body = input.body;
  const bodyStart = input.bodyStart ?? 0;
  let url = new URL(input.url.href);
  let headers: HeaderList = withoutHeaders(input.headers, CLIENT_OWNED_HEADERS);
  // Generated credentials follow the app's own: dropped for good at the first cross-origin redirect.
  let auth = ServerAuth.create(input.credentials, url);
  for (let redirects = 0; ; redirects += 1) {
    const requestUrl = url;
    // Assigned in chooseSink; `as` keeps TypeScript from narrowing it to null for good.
    let final = null as ResponseSnapshot | null;
    const response = await authenticatedExchange(
      {
        url: requestUrl,
        method: input.method,
        headers,
        body: { source: body, start: bodyStart },
        dispatcher: input.dispatcher,
        signal: input.signal,
        responseTimeoutMs: input.responseTimeoutMs,
        stallTimeoutMs: input.stallTimeoutMs ?? 0,
        onBytesSent: (value) => input.onBytesSent(value),
        onBytesReceived: (value) => input.onBytesReceived(value),
        onInformational: (status, pairs) => input.onInformational?.(status, pairs, requestUrl),
        chooseSink(status, pairs): ResponseSink {
          if (RESEND_STATUSES.has(status)) return { kind: 'discard' };
          refuseRedirect(status, input.method, requestUrl);
          // R44: actualUri is where the final response came from, after any 307/308.
          final = { statusCode: status, actualUri: requestUrl.href, isResumable: false, headers: pairs };
          input.onResponse(final, contentLength(pairs));
          return responseBodySink(input.responseBodyPath);
        },
      },
      auth,
      () => input.onBytesSent(0),
    );
    if (final !== null) {
      const answer: ResponseSnapshot = final;
      return {
        response: response.bodyCut ? { ...answer, bodyTruncated: true } : answer,
        requestMethod: input.method,
        bytesReceived: response.bytesReceived,
      };
    }
    if (redirects >= input.maxRedirects) {
      throw new TransferError(
        'BT_ERR_TOO_MANY_REDIRECTS',
        requestMessage(
          input.method,
          url,
          `more than ${input.maxRedirects} redirects (the last one: ${response.status})`,
        ),
      );
    }
    const next = redirectTarget(url, response.status, findHeader(response.headers, 'location'));
    if (next.origin !== url.origin) {
      headers = withoutHeaders(headers, ORIGIN_BOUND_HEADERS);
      auth = null;
    }
    url = next;
    input.signal.throwIfAborted();
    // The re-sent request starts its body from the beginning again.
    input.onBytesSent(0);
  }
}

function refuseRedirect(status: number, method: string, url: URL): void {
  if (!REFUSED_REDIRECT_STATUSES.has(status)) return;
  throw new TransferError(
    'BT_ERR_REDIRECT_NOT_ALLOWED',
    requestMessage(method, url, `the server redirected the upload with ${status}, which would drop the body`),
    { httpStatus: status },
  );
}
