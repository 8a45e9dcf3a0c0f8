import { TransferError } from '../../core/errors.ts';
import type { ResponseSnapshot } from '../../core/snapshot.ts';
import { authenticatedExchange } from './authenticated-exchange.ts';
import type { ExchangeBody, ExchangeResponse } from './exchange.ts';
import { responseBodySink } from './exchange-types.ts';
import { contentLength, findHeader, type HeaderList, type HeaderPairs } from './header-pairs.ts';
import type { HttpUploadResult } from './http-upload-types.ts';
import { requestMessage, urlText } from './request-messages.ts';
import type { ResumableUploadInput } from './resumable-types.ts';
import type { ServerAuth } from './server-auth.ts';

/** One request of a resumable protocol (creation, offset query, append). */
export interface ResumableStep {
  url: URL;
  method: string;
  headers: HeaderList;
  body: ExchangeBody | null;
  /**
   * Whether this response ends the upload attempt (success or an error the engine judges): its body
   * then goes to `responseBodyPath` and the engine hears of it through `onResponse`. Other answers
   * (protocol bookkeeping such as a 409 or an intermediate 204) stay in memory.
   */
  isFinal(status: number, headers: HeaderPairs): boolean;
  onInformational?(status: number, headers: HeaderPairs): void;
}

export interface StepOutcome {
  response: ExchangeResponse;
  /** Set when `isFinal` said so. */
  final: HttpUploadResult | null;
}

/**
 * Sends one step; body progress is reported to the engine as absolute (start + sent). `auth` is the
 * attempt's ServerAuth (one for all steps, so a Digest challenge carries over with a counting nc);
 * a re-send for authentication starts the body at `step.body.start` again.
 */
export async function sendStep(
  input: ResumableUploadInput,
  step: ResumableStep,
  auth: ServerAuth | null = null,
): Promise<StepOutcome> {
  // Assigned in chooseSink; `as` keeps TypeScript from narrowing it to null for good.
  let final = null as ResponseSnapshot | null;
  const start = step.body?.start ?? 0;
  const response = await authenticatedExchange(
    {
      url: step.url,
      method: step.method,
      headers: step.headers,
      body: step.body,
      dispatcher: input.dispatcher,
      signal: input.signal,
      responseTimeoutMs: input.responseTimeoutMs,
      stallTimeoutMs: input.stallTimeoutMs,
      ...(step.onInformational === undefined ? {} : { onInformational: step.onInformational }),
      ...(step.body === null ? {} : { onBytesSent: (sent: number) => input.onBytesSent(start + sent) }),
      onBytesReceived: (received) => input.onBytesReceived(received),
      chooseSink(status, headers) {
        if (!step.isFinal(status, headers)) return { kind: 'memory' };
        final = { statusCode: status, actualUri: step.url.href, isResumable: true, headers };
        input.onResponse(final, contentLength(headers));
        return responseBodySink(input.responseBodyPath);
      },
    },
    auth,
    step.body === null ? undefined : () => input.onBytesSent(start),
  );
  if (final === null) return { response, final: null };
  const answer: ResponseSnapshot = response.bodyCut ? { ...final, bodyTruncated: true } : final;
  return { response, final: { response: answer, requestMethod: step.method, bytesReceived: response.bytesReceived } };
}

/** A non-negative integer header value (tus offsets/lengths; the draft's sf-integer); undefined if absent or bad. */
export function parseOffset(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  // sf-integer: at most 15 digits (RFC 8941 §3.3.1), which also keeps it a safe integer.
  if (!/^\d{1,15}$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

/** A URL the server handed out for the upload resource, resolved against the request that named it. */
export function resolveUploadUrl(location: string, base: URL, what: string): URL {
  let url: URL;
  try {
    url = new URL(location, base);
  } catch (error) {
    throw new TransferError('BT_ERR_INVALID_RESPONSE', `${what}: invalid Location ${location}`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TransferError('BT_ERR_INVALID_RESPONSE', `${what}: non-HTTP Location ${urlText(url)}`);
  }
  if (base.protocol === 'https:' && url.protocol === 'http:') {
    // The app's credentials go to the upload resource: never in clear text.
    throw new TransferError('BT_ERR_INSECURE_REDIRECT', `${what}: https upload moved to plain http ${urlText(url)}`);
  }
  return url;
}

/** The app's own credentials: never sent to an origin the app did not address. */
const ORIGIN_BOUND_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'host']);

/**
 * The app's headers for a request to `url`: all of them on the origin the app addressed; without its
 * Authorization and Cookie on another one (a tus Location or a 104 Location elsewhere is followed, as
 * tus deployments with upload servers on another host need, but the app's credentials stay home).
 */
export function headersForOrigin(headers: HeaderList, url: URL, scope: URL): HeaderList {
  return url.origin === scope.origin
    ? headers
    : headers.filter(([name]) => !ORIGIN_BOUND_HEADERS.has(name.toLowerCase()));
}

/**
 * An Upload-Offset the server acknowledged, checked: BT_ERR_BAD_OFFSET when malformed, beyond `highest`
 * (what was sent) or behind `lowest` (what the server acknowledged before); undefined when absent.
 */
export function checkedOffset(
  value: string | undefined,
  lowest: number,
  highest: number,
  what: string,
): number | undefined {
  if (value === undefined) return undefined;
  const offset = parseOffset(value);
  if (offset === undefined) {
    throw new TransferError('BT_ERR_BAD_OFFSET', `${what} sent a malformed Upload-Offset: ${value.slice(0, 40)}`);
  }
  if (offset > highest) {
    throw new TransferError(
      'BT_ERR_BAD_OFFSET',
      `${what} acknowledged offset ${offset}, but only ${highest} bytes were sent`,
    );
  }
  if (offset < lowest) {
    throw new TransferError(
      'BT_ERR_BAD_OFFSET',
      `${what} acknowledged offset ${offset}, behind the ${lowest} it acknowledged before`,
    );
  }
  return offset;
}

/** The stored upload URL, parsed; a bad one cannot be resumed (the engine starts over). */
export function parseSessionUrl(uploadUrl: string): URL {
  try {
    return new URL(uploadUrl);
  } catch (error) {
    throw new TransferError('BT_ERR_RESUME_LOST', `the stored upload URL is not a URL: ${uploadUrl}`, { cause: error });
  }
}

/** BT_ERR_RESUME_LOST: the engine starts the upload over (R38) instead of retrying it. */
export function resumeLost(url: URL, detail: string): TransferError {
  return new TransferError('BT_ERR_RESUME_LOST', `the server no longer knows the upload ${urlText(url)} (${detail})`);
}

/** How one protocol's HEAD answer reads (tus 1.0 § HEAD, the IETF draft's offset retrieval). */
export interface OffsetRules {
  /** Statuses that mean the server no longer knows the upload. */
  lostStatuses: ReadonlySet<number>;
  /** A 2xx answer saying the whole body is there already (the final answer was lost). */
  reportsComplete(headers: HeaderPairs, size: number): boolean;
  /** The acknowledged offset in the answer (its raw header value). */
  offsetHeader: string;
  /** Sees every non-final answer's headers (the IETF draft reads Upload-Limit there). */
  onAnswer?(headers: HeaderPairs): void;
}

/**
 * HEAD the upload resource: the offset to continue from (also reported through onOffset), or the final
 * answer when the server reports the upload complete or fails (5xx, 423…). An answer for another body
 * length, an offset past the body or a lost status → BT_ERR_RESUME_LOST; no offset → BT_ERR_INVALID_RESPONSE.
 */
export async function queryUploadOffset(
  input: ResumableUploadInput,
  url: URL,
  headers: HeaderList,
  auth: ServerAuth | null,
  rules: OffsetRules,
): Promise<number | HttpUploadResult> {
  const size = input.body.size;
  const { response, final } = await sendStep(
    input,
    {
      url,
      method: 'HEAD',
      headers,
      body: null,
      isFinal: (status, pairs) =>
        !rules.lostStatuses.has(status) && (status < 200 || status >= 300 || rules.reportsComplete(pairs, size)),
    },
    auth,
  );
  if (final !== null) {
    if (response.status >= 200 && response.status < 300) input.onOffset(size);
    return final;
  }
  if (rules.lostStatuses.has(response.status)) throw resumeLost(url, `HEAD answered ${response.status}`);
  const length = parseOffset(findHeader(response.headers, 'upload-length'));
  if (length !== undefined && length !== size) {
    throw resumeLost(url, `the server's upload is ${length} bytes long, this body ${size}`);
  }
  rules.onAnswer?.(response.headers);
  // Behind what was acknowledged before: the server lost bytes it had promised to keep.
  const offset = checkedOffset(
    findHeader(response.headers, rules.offsetHeader),
    Math.min(input.acknowledgedOffset ?? 0, size),
    Number.MAX_SAFE_INTEGER,
    `HEAD ${url.href}`,
  );
  if (offset === undefined) {
    throw new TransferError(
      'BT_ERR_INVALID_RESPONSE',
      requestMessage('HEAD', url, `the server answered ${response.status} without Upload-Offset`),
    );
  }
  if (offset > size) throw resumeLost(url, `the server has ${offset} bytes of a ${size}-byte body`);
  input.onOffset(offset);
  return offset;
}
