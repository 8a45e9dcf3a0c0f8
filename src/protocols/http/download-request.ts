import type { Dispatcher } from 'undici';
import { TransferError } from '../../core/errors.ts';
import type { ResponseSnapshot } from '../../core/snapshot.ts';
import type { HttpCredential } from '../../net/basic-auth.ts';
import type { BodySource } from '../../source/body-source.ts';
import { authenticatedExchange } from './authenticated-exchange.ts';
import { type ChunkHash, type ResponseSink, responseBodySink } from './exchange-types.ts';
import { CLIENT_OWNED_HEADERS, contentLength, findHeader, type HeaderList, withoutHeaders } from './header-pairs.ts';
import { redirectTarget } from './redirect-target.ts';
import { requestMessage } from './request-messages.ts';
import { ServerAuth } from './server-auth.ts';

/**
 * One download request over HTTP(S) (docs/downloads.md): the app's request, with `Range` and `If-Range`
 * when part of the body is already on disk, redirects followed, and the body written to the partial
 * file — but only once the answer's head has been judged:
 *   206  its Content-Range must start exactly at `offset` (else BT_ERR_CONTENT_RANGE, nothing written);
 *   2xx  the whole body from byte 0 (the server ignored the range, or the representation changed);
 *   416  the range was refused: the caller starts over (or the partial already was the whole file);
 *   else an error answer, whose body goes to `responseBodyPath`, never into the partial file.
 */

/** What the answer's head means for the partial file. */
export type DownloadPlan =
  /** 206: append from `offset`; `total` is the representation's length from Content-Range. */
  | { kind: 'resume'; total: number | null }
  /** The whole body from byte 0; `total` is Content-Length (null when unknown). */
  | { kind: 'restart'; total: number | null }
  /** 416 to a range request; `total` from `Content-Range: bytes *\/N` when given. */
  | { kind: 'rangeRefused'; total: number | null }
  /** A final answer that is not the body (>= 300 after redirects, or 1xx-less oddities). */
  | { kind: 'error' };

export interface DownloadRequestInput {
  url: URL;
  method: string;
  headers: HeaderList;
  /** The app's request body (createDownload's requestBodyFile/stream), or null. */
  body: BodySource | null;
  /** Bytes of the partial file to keep; > 0 sends a range request (with `validator` as If-Range). */
  offset: number;
  /** The strong ETag or Last-Modified the partial bytes came with; required when offset > 0. */
  validator: string | null;
  partialPath: string;
  responseBodyPath: string;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  responseTimeoutMs: number;
  stallTimeoutMs: number;
  maxRedirects: number;
  credentials?: HttpCredential | null;
  /** The final answer's head, judged; called before any body byte is written anywhere. */
  onResponse(response: ResponseSnapshot, plan: DownloadPlan): void;
  /** What the body written to the partial file is hashed with as it is written (called after onResponse). */
  hashFor?(plan: DownloadPlan, headers: HeaderList): ChunkHash | null;
  onBytesSent(bytesSent: number): void;
}

export interface DownloadRequestResult {
  response: ResponseSnapshot;
  plan: DownloadPlan;
  requestMethod: string;
  /** Body bytes written (to the partial file, or the response body file for an error). */
  bytesReceived: number;
  /** The connection broke while the body came: the partial file holds only what arrived. */
  bodyCut: boolean;
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Never sent to an origin the app did not address; `host` would name the old origin. */
const ORIGIN_BOUND_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'host']);
/** Ours to set on each request: an app's own Range would corrupt the partial file. */
const RANGE_HEADERS: ReadonlySet<string> = new Set(['range', 'if-range']);

export async function downloadHttp(input: DownloadRequestInput): Promise<DownloadRequestResult> {
  input.signal.throwIfAborted();
  let url = new URL(input.url.href);
  let method = input.method;
  let body = input.body;
  let headers: HeaderList = withoutHeaders(withoutHeaders(input.headers, CLIENT_OWNED_HEADERS), RANGE_HEADERS);
  let auth = ServerAuth.create(input.credentials, url);
  for (let redirects = 0; ; redirects += 1) {
    const requestUrl = url;
    const requestMethod = method;
    let final = null as { response: ResponseSnapshot; plan: DownloadPlan } | null;
    const ranged: HeaderList =
      input.offset > 0 && input.validator !== null
        ? [...headers, ['Range', `bytes=${input.offset}-`], ['If-Range', input.validator]]
        : headers;
    const answer = await authenticatedExchange(
      {
        url: requestUrl,
        method: requestMethod,
        headers: ranged,
        body: body === null ? null : { source: body, start: 0 },
        dispatcher: input.dispatcher,
        signal: input.signal,
        responseTimeoutMs: input.responseTimeoutMs,
        stallTimeoutMs: input.stallTimeoutMs,
        onBytesSent: (value) => input.onBytesSent(value),
        chooseSink(status, pairs): ResponseSink {
          if (REDIRECT_STATUSES.has(status) && findHeader(pairs, 'location')) return { kind: 'discard' };
          const response = { statusCode: status, actualUri: requestUrl.href, isResumable: false, headers: pairs };
          const plan = judgeHead(status, pairs, input.offset, requestMethod, requestUrl);
          const judged: ResponseSnapshot = { ...response, isResumable: plan.kind === 'resume' || hasValidator(pairs) };
          final = { response: judged, plan };
          input.onResponse(judged, plan);
          const hash = plan.kind === 'resume' || plan.kind === 'restart' ? input.hashFor?.(plan, pairs) : null;
          const hashes = hash ? { hashes: [hash] } : {};
          switch (plan.kind) {
            case 'resume':
              return { kind: 'file', path: input.partialPath, position: input.offset, ...hashes };
            case 'restart':
              return { kind: 'file', path: input.partialPath, openAtHead: true, ...hashes };
            case 'rangeRefused':
              return { kind: 'discard' };
            case 'error':
              return responseBodySink(input.responseBodyPath);
          }
        },
      },
      auth,
      () => input.onBytesSent(0),
    );
    if (final !== null) {
      const { response, plan } = final;
      return { response, plan, requestMethod, bytesReceived: answer.bytesReceived, bodyCut: answer.bodyCut };
    }
    if (redirects >= input.maxRedirects) {
      throw new TransferError(
        'BT_ERR_TOO_MANY_REDIRECTS',
        requestMessage(method, url, `more than ${input.maxRedirects} redirects (the last one: ${answer.status})`),
      );
    }
    const next = redirectTarget(url, answer.status, findHeader(answer.headers, 'location'));
    if (next.origin !== url.origin) {
      headers = withoutHeaders(headers, ORIGIN_BOUND_HEADERS);
      auth = null;
    }
    // 303 (and 301/302 after anything but GET/HEAD, as browsers do) turn the request into a GET.
    if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && !isGetOrHead(method))) {
      method = 'GET';
      body = null;
    }
    url = next;
    input.signal.throwIfAborted();
  }
}

function isGetOrHead(method: string): boolean {
  const upper = method.toUpperCase();
  return upper === 'GET' || upper === 'HEAD';
}

/** The head of the final answer, judged against the partial file before a byte is written. */
function judgeHead(status: number, headers: HeaderList, offset: number, method: string, url: URL): DownloadPlan {
  if (status === 206) {
    const range = parseContentRange(findHeader(headers, 'content-range'));
    const wrong = (what: string) =>
      new TransferError(
        'BT_ERR_CONTENT_RANGE',
        requestMessage(method, url, `asked for bytes from ${offset} on, the server answered 206 with ${what}`),
      );
    if (range === null || range.start === null) {
      throw wrong(`Content-Range ${JSON.stringify(findHeader(headers, 'content-range') ?? '')}`);
    }
    if (range.start !== offset) throw wrong(`a range starting at ${range.start}`);
    if (range.end === null || (range.total !== null && range.end >= range.total)) {
      throw wrong(`an inconsistent Content-Range ${JSON.stringify(findHeader(headers, 'content-range'))}`);
    }
    const length = findHeader(headers, 'content-length');
    if (length !== undefined && Number(length) !== range.end - range.start + 1) {
      throw wrong(`Content-Length ${length} for the range ${range.start}-${range.end}`);
    }
    if (range.total !== null && range.end + 1 !== range.total) {
      // A server may send less than asked; we take only answers that reach the end (one range, no gaps).
      throw wrong(`a range ending at ${range.end} of ${range.total}`);
    }
    return { kind: 'resume', total: range.total };
  }
  if (status === 416 && offset > 0) {
    const range = parseContentRange(findHeader(headers, 'content-range'));
    return { kind: 'rangeRefused', total: range?.total ?? null };
  }
  if (status >= 200 && status < 300) {
    const declared = findHeader(headers, 'content-length');
    return { kind: 'restart', total: declared === undefined ? null : contentLength(headers) };
  }
  return { kind: 'error' };
}

interface ContentRange {
  start: number | null;
  end: number | null;
  total: number | null;
}

/** `bytes 0-99/200`, `bytes 0-99/*` or `bytes *\/200` (RFC 9110 §14.4); null if malformed. */
export function parseContentRange(value: string | undefined): ContentRange | null {
  if (value === undefined) return null;
  const match = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(value);
  if (!match) return null;
  const number = (text: string | undefined) => (text === undefined || text === '*' ? null : Number(text));
  const start = number(match[1]);
  const end = number(match[2]);
  const total = number(match[3]);
  for (const value of [start, end, total]) if (value !== null && !Number.isSafeInteger(value)) return null;
  if (start !== null && end !== null && end < start) return null;
  return { start, end, total };
}

/**
 * The value an `If-Range` may carry for these bytes: a strong ETag (RFC 9110 §13.1.5: a weak one may
 * not be used), else Last-Modified. null: nothing can vouch for the bytes, so a resume starts over.
 */
export function validatorOf(headers: HeaderList): string | null {
  const etag = findHeader(headers, 'etag')?.trim();
  if (etag && /^"[^"]*"$/.test(etag)) return etag;
  const modified = findHeader(headers, 'last-modified')?.trim();
  return modified ? modified : null;
}

function hasValidator(headers: HeaderList): boolean {
  return validatorOf(headers) !== null;
}
