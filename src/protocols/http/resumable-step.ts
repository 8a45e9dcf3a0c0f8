import { TransferError } from '../../core/errors.ts';
import type { ResponseSnapshot } from '../../core/snapshot.ts';
import { authenticatedExchange } from './authenticated-exchange.ts';
import type { ExchangeBody, ExchangeResponse } from './exchange.ts';
import { contentLength, type HeaderList, type HeaderPairs } from './header-pairs.ts';
import type { HttpUploadResult } from './http-upload-types.ts';
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
        return { kind: 'file', path: input.responseBodyPath };
      },
    },
    auth,
    step.body === null ? undefined : () => input.onBytesSent(start),
  );
  return { response, final: final === null ? null : { response: final, bytesReceived: response.bytesReceived } };
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
    throw new TransferError('BT_ERR_INVALID_RESPONSE', `${what}: non-HTTP Location ${url.href}`);
  }
  if (base.protocol === 'https:' && url.protocol === 'http:') {
    // The app's credentials go to the upload resource: never in clear text.
    throw new TransferError('BT_ERR_INSECURE_REDIRECT', `${what}: https upload moved to plain http ${url.href}`);
  }
  return url;
}

/** The stored upload URL, parsed; a bad one cannot be resumed (the engine starts over). */
export function parseSessionUrl(uploadUrl: string): URL {
  try {
    return new URL(uploadUrl);
  } catch (error) {
    throw new TransferError('BT_ERR_RESUME_LOST', `the stored upload URL is not a URL: ${uploadUrl}`, { cause: error });
  }
}
