import { TransferError } from '../../core/errors.ts';
import type { BodySource } from '../../source/body-source.ts';
import { findHeader, type HeaderPairs } from '../http/header-pairs.ts';
import { uploadHttp } from '../http/http-upload.ts';
import type { HttpUploadResult } from '../http/http-upload-types.ts';
import { resolveUploadUrl, sendStep } from '../http/resumable-step.ts';
import {
  cancelQuietly,
  finalAnswer,
  type IetfAttempt,
  InterimWatchdog,
  isSizeRefusal,
  reportProgress,
} from './ietf-context.ts';
import {
  creationHeaders,
  PARTIAL_UPLOAD_CONTENT_TYPE,
  resourceHeaders,
  speaksVersion,
  UPLOAD_RESUMPTION_SUPPORTED,
} from './ietf-protocol.ts';
import { markCreationUnanswered } from './lost-interims.ts';
import { checkUploadSize, expiresAt, mergeLimits, parseUploadLimit } from './upload-limit.ts';

/** The large upload's creation got no 104 in time and was stopped before its body (see optimisticCreation). */
export const NO_INTERIM = Symbol('no 104');

/**
 * What the caller does when the creation is answered 413 without `Upload-Complete: ?1` (isSizeRefusal):
 * given that answer and the upload resource a 104 named (null without one).
 */
export type SizeRefused = (
  attempt: IetfAttempt,
  refused: HttpUploadResult,
  session: URL | null,
) => Promise<HttpUploadResult>;

/**
 * §"Optimistic Upload Creation": the app's own request, marked `Upload-Complete: ?1`. A draft server
 * answers 104 with the upload resource's `Location` at once, which goes to `onSession`; a server that
 * ignores the headers sees a plain upload, so this costs nothing where the draft is not spoken.
 *
 * With `waitMs` (large uploads) the body waits up to that long for the 104 ("A client might wait for a
 * limited duration to receive a 104 ... before starting to transmit the request content"); its first
 * byte goes out with the request head. Without a 104 in time the request is stopped there and
 * NO_INTERIM returned: the caller asks
 * whether the server speaks the draft at all and creates the resource carefully, or sends it plain.
 * A 413 without `Upload-Complete: ?1` goes to `sizeRefused`, when given.
 */
export function optimisticCreation(
  attempt: IetfAttempt,
  waitMs: null,
  sizeRefused?: SizeRefused,
): Promise<HttpUploadResult>;
export function optimisticCreation(
  attempt: IetfAttempt,
  waitMs: number,
  sizeRefused?: SizeRefused,
): Promise<HttpUploadResult | typeof NO_INTERIM>;
export async function optimisticCreation(
  attempt: IetfAttempt,
  waitMs: number | null,
  sizeRefused?: SizeRefused,
): Promise<HttpUploadResult | typeof NO_INTERIM> {
  const { input, version } = attempt;
  const size = input.body.size;
  const watchdog = new InterimWatchdog(size, input.responseTimeoutMs, input.method, input.endpoint);
  // Made only when waiting: its error's stack costs more than the rest of a small plain upload's setup.
  const gate = waitMs === null ? null : new BodyGate(waitMs, input.endpoint);
  let session: URL | null = null;
  let sentTo = 0;

  const onInterim = (headers: HeaderPairs, requestUrl: URL): void => {
    attempt.limits = mergeLimits(attempt.limits, parseUploadLimit(headers, version));
    const location = findHeader(headers, 'location');
    if (location !== undefined && location !== '') {
      let resolved: URL;
      try {
        resolved = resolveUploadUrl(location, requestUrl, `104 from ${requestUrl.href}`);
      } catch {
        // A broken Location only means this upload cannot be resumed; the request itself goes on.
        return;
      }
      if (session !== null && resolved.href !== session.href) {
        // "Where the Location value is expected to be identical across multiple messages, clients
        // SHOULD verify this. If verification fails, clients SHOULD abort the current request."
        throw new TransferError(
          'BT_ERR_INVALID_RESPONSE',
          `${requestUrl.href} named two upload resources in its 104s: ${session.href} and ${resolved.href}`,
        );
      }
      if (session === null) {
        // Below min-size the server may not keep the upload resource: the upload goes on plain.
        if (attempt.limits.minSize !== undefined && size < attempt.limits.minSize) {
          gate?.open();
          return;
        }
        try {
          checkUploadSize(attempt.limits, size, `the upload resource ${resolved.href}`);
        } catch (error) {
          cancelQuietly(attempt, resolved);
          throw error;
        }
        session = resolved;
        input.onSession(resolved.href, expiresAt(attempt.limits));
        gate?.open();
      }
    }
    reportProgress(attempt, UPLOAD_RESUMPTION_SUPPORTED, headers, sentTo);
  };

  try {
    const result = await uploadHttp({
      url: input.endpoint,
      method: input.method,
      headers: creationHeaders(input.headers, version, size),
      body: gate === null ? input.body : gate.wrap(input.body),
      responseBodyPath: input.responseBodyPath,
      dispatcher: input.dispatcher,
      signal: input.signal,
      responseTimeoutMs: input.responseTimeoutMs,
      stallTimeoutMs: input.stallTimeoutMs,
      maxRedirects: input.maxRedirects,
      credentials: input.credentials ?? null,
      onBytesSent(sent) {
        sentTo = sent;
        watchdog.sent(sent);
        input.onBytesSent(sent);
      },
      onResponse(response, total) {
        // An answer before the body (a refusal): the held-back body is not needed any more.
        gate?.close();
        // uploadHttp's snapshot says not resumable: copied only when a 104 made it so.
        input.onResponse(session === null ? response : { ...response, isResumable: true }, total);
      },
      onBytesReceived: (received) => input.onBytesReceived(received),
      // What these throw (a 104 storm's timeout, two upload resources, a size beyond the server's
      // limit) fails the request: the exchange runs this callback guarded.
      onInformational(status, headers, url) {
        watchdog.interim();
        if (status !== UPLOAD_RESUMPTION_SUPPORTED || !speaksVersion(headers, version)) return;
        onInterim(headers, url);
      },
    });
    if (sizeRefused !== undefined && isSizeRefusal(result.response.statusCode, result.response.headers)) {
      return await sizeRefused(attempt, result, session);
    }
    // ResponseInformation.isResumable: the final response came from a request the server made resumable
    // (uploadHttp's answer says not: copied only when a 104 made it so).
    if (session === null) return finalAnswer(attempt, result, false);
    return finalAnswer(attempt, { ...result, response: { ...result.response, isResumable: true } }, true);
  } catch (error) {
    if (gate !== null && error === gate.timeout && session === null && !input.signal.aborted) return NO_INTERIM;
    // Sent at once, the whole body out, and neither a 104 nor an answer: perhaps a proxy that hung on
    // the 104. The next large creation to this endpoint waits for the 104 instead.
    if (gate === null && session === null && sentTo >= size && isTimeout(error)) markCreationUnanswered(input.endpoint);
    throw error;
  } finally {
    gate?.close();
  }
}

/**
 * Whether the target speaks the draft in our version, by OPTIONS (-05: "MUST include the Upload-Limit
 * header field ... in a response to an OPTIONS request"; -09 on: "MUST include the Accept-Patch header
 * field" naming application/partial-upload). A server that names another interop version does not.
 * Limits learned here are checked before anything is sent.
 */
export async function speaksDraft(attempt: IetfAttempt): Promise<boolean> {
  const { input, version } = attempt;
  const { response } = await sendStep(
    input,
    {
      url: input.endpoint,
      method: 'OPTIONS',
      headers: resourceHeaders(input.headers, version),
      body: null,
      isFinal: () => false,
    },
    attempt.auth,
  );
  if (response.status < 200 || response.status >= 300) return false;
  const named = findHeader(response.headers, 'upload-draft-interop-version');
  if (named !== undefined && named.trim() !== String(version)) return false;
  const limits = parseUploadLimit(response.headers, version);
  const acceptsPartial = (findHeader(response.headers, 'accept-patch') ?? '')
    .split(',')
    .some((type) => type.split(';')[0]?.trim().toLowerCase() === PARTIAL_UPLOAD_CONTENT_TYPE);
  if (limits === undefined && !acceptsPartial) return false;
  attempt.limits = mergeLimits(attempt.limits, limits);
  checkUploadSize(attempt.limits, input.body.size, input.endpoint.href);
  return true;
}

function isTimeout(error: unknown): boolean {
  return error instanceof TransferError && error.code === 'BT_ERR_TIMEOUT';
}

const EMPTY_BODY: BodySource = {
  size: 0,
  async *read() {},
};

/**
 * §"Careful Upload Creation": the app's request with an empty body and `Upload-Complete: ?0`; the
 * 2xx answer's Location is the upload resource (stored before any body byte is sent), its Upload-Limit
 * the limits for the appends. Any other answer is the upload's final response.
 */
export async function carefulCreation(attempt: IetfAttempt): Promise<URL | HttpUploadResult> {
  const { input, version } = attempt;
  const size = input.body.size;
  const { response, final } = await sendStep(
    input,
    {
      url: input.endpoint,
      method: input.method,
      headers: creationHeaders(input.headers, version, size, false),
      body: { source: EMPTY_BODY, start: 0 },
      isFinal: (status) => status < 200 || status >= 300,
    },
    attempt.auth,
  );
  if (final !== null)
    return finalAnswer(attempt, { ...final, response: { ...final.response, isResumable: false } }, false);
  const location = findHeader(response.headers, 'location');
  if (location === undefined || location === '') {
    throw new TransferError(
      'BT_ERR_INVALID_RESPONSE',
      `${input.method} ${input.endpoint.href} with Upload-Complete: ?0 answered ${response.status} without a Location`,
    );
  }
  const uploadUrl = resolveUploadUrl(location, input.endpoint, `creation at ${input.endpoint.href}`);
  attempt.limits = mergeLimits(attempt.limits, parseUploadLimit(response.headers, version));
  try {
    checkUploadSize(attempt.limits, size, `the upload resource ${uploadUrl.href}`);
  } catch (error) {
    cancelQuietly(attempt, uploadUrl);
    throw error;
  }
  input.onSession(uploadUrl.href, expiresAt(attempt.limits));
  input.onOffset(0);
  return uploadUrl;
}

/**
 * Holds a body back until opened. When `waitMs` pass first, the body throws `timeout` ("no 104 from
 * …"), which fails the request with it (the exchange keeps what its body threw): nothing more goes out.
 */
class BodyGate {
  readonly #opened: Promise<void>;
  #release: () => void = () => {};
  readonly #timer: NodeJS.Timeout;
  readonly timeout: TransferError;
  #timedOut = false;
  #stopped = false;

  constructor(waitMs: number, endpoint: URL) {
    this.timeout = new TransferError('BT_ERR_TIMEOUT', `no 104 from ${endpoint.href} within ${waitMs} ms`);
    this.#opened = new Promise<void>((resolve) => {
      this.#release = resolve;
    });
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#release();
    }, waitMs);
  }

  open(): void {
    clearTimeout(this.#timer);
    this.#release();
  }

  /** The request is over: a body still held back never goes out. */
  close(): void {
    clearTimeout(this.#timer);
    this.#stopped = true;
    this.#release();
  }

  wrap(body: BodySource): BodySource {
    const opened = this.#opened;
    const gate = this;
    return {
      size: body.size,
      async *read(start) {
        // undici writes the request head together with the first body chunk: one byte goes out so
        // that the server sees the request and can answer 104; the rest waits for the gate.
        const chunks = body.read(start)[Symbol.asyncIterator]();
        try {
          const first = await chunks.next();
          if (first.done) return;
          yield first.value.subarray(0, 1);
          await opened;
          if (gate.#stopped) return;
          // No 104 in time: the request ends here, with the error the caller looks for.
          if (gate.#timedOut) throw gate.timeout;
          if (first.value.byteLength > 1) yield first.value.subarray(1);
          for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
        } finally {
          // Closes the source (its file) however the request ends.
          await chunks.return?.();
        }
      },
    };
  }
}
