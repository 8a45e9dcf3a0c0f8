import { basename } from 'node:path';
import type { Dispatcher } from 'undici';
import type { Config } from '../core/config.ts';
import { TransferError, toTransferError } from '../core/errors.ts';
import type { OperationExtras } from '../core/operation-extras.ts';
import type { ResponseSnapshot } from '../core/snapshot.ts';
import { uploadHttp } from '../protocols/http/http-upload.ts';
import type { HttpUploadResult } from '../protocols/http/http-upload-types.ts';
import { requestMessage } from '../protocols/http/request-messages.ts';
import type { ResumableUploadInput } from '../protocols/http/resumable-types.ts';
import { uploadIetf } from '../protocols/ietf/ietf-upload.ts';
import { probeTusEndpoint } from '../protocols/tus/tus-control.ts';
import { uploadTus } from '../protocols/tus/tus-upload.ts';
import type { BodySource } from '../source/body-source.ts';
import type { OperationStore } from '../store/operation-store.ts';
import {
  clearingCreationPending,
  recordTruncatedResponse,
  saveExtras,
  setCreationPending,
  withIdempotencyKey,
} from './attempt-delivery.ts';
import { type AttemptBody, keepContentDigest, openAttemptBody, withReprDigest } from './attempt-digest.ts';
import { endpointCapability, forgetEndpoint, recallEndpoint, rememberIetfEndpoint } from './endpoint-capabilities.ts';
import type { LiveTransfer } from './live-transfer.ts';
import { acceptedByServer } from './recovery.ts';
import { parseRetryAfter } from './retry-policy.ts';

export interface AttemptContext {
  live: LiveTransfer;
  store: OperationStore;
  dispatcher: Dispatcher;
  config: Config;
  responseBodyPath: string;
  extraCaCertificates: string[];
  /** A new final response was recorded (publish it at once: R39). */
  onResponse(): void;
}

export type AttemptOutcome =
  | { kind: 'completed' }
  | { kind: 'failed'; error: TransferError; retryAfterMs: number | undefined };

/**
 * One attempt of an operation. The protocol is chosen per operation (docs/api/background-uploader.md
 * `resumeProtocol`): a stored session continues where the server is (tus, IETF draft, FTP); "auto"
 * uses what the store remembers of the endpoint, or asks it once whether it speaks tus (OPTIONS), and
 * otherwise sends the app's request with the IETF draft's headers, which a plain server ignores (then
 * R38 restarts apply). A final 2xx completes;
 * any other final status is an error that keeps the response (docs/windows-behaviour.md, "HTTP errors").
 */
export async function runAttempt(context: AttemptContext): Promise<AttemptOutcome> {
  // A request of this upload already got a 2xx and was then stopped (pause, network, preempt): the
  // server has the body, so a new request would deliver it twice.
  if (acceptedByServer(context.live.record)) return { kind: 'completed' };
  let body: AttemptBody | undefined;
  try {
    const url = new URL(context.live.record.requestedUri);
    body = openAttemptBody(context.live.record);
    if (url.protocol === 'ftp:' || url.protocol === 'ftps:') {
      await runFtp(context, url, body.source);
      return { kind: 'completed' };
    }
    return judge(context, await runHttp(context, url, body));
  } catch (error) {
    return { kind: 'failed', error: toTransferError(error, 'BT_ERR_NETWORK'), retryAfterMs: undefined };
  } finally {
    if (body) keepContentDigest(context, body.source);
  }
}

function judge(context: AttemptContext, result: HttpUploadResult): AttemptOutcome {
  const status = result.response.statusCode;
  if (result.response.bodyTruncated) recordTruncatedResponse(context, result);
  // A 2xx means the server accepted the body, even when the connection broke in its answer's body:
  // sending it again would deliver it twice.
  if (status >= 200 && status < 300) return { kind: 'completed' };
  const retryAfter = result.response.headers.find(([name]) => name.toLowerCase() === 'retry-after')?.[1];
  return {
    kind: 'failed',
    error: new TransferError(
      'BT_ERR_HTTP_STATUS',
      // The request that got the answer: a tus PATCH or POST, the URL after redirects.
      requestMessage(result.requestMethod, result.response.actualUri, `the server answered ${status}`),
      { httpStatus: status },
    ),
    retryAfterMs: parseRetryAfter(retryAfter, Date.now()),
  };
}

async function runHttp(context: AttemptContext, url: URL, opened: AttemptBody): Promise<HttpUploadResult> {
  const { live, store } = context;
  const record = live.record;
  const { source, contentType } = opened;
  const callbacks = progressCallbacks(context);
  const credentials = record.extras.serverCredential;
  // A POST headed for a resumable protocol: until a session exists or its first body byte goes out, a
  // crash sent nothing the server could have accepted (recovery creates it again instead of R12).
  const resumablePost = isPost(record.method) && record.extras.resumeProtocol !== 'none';
  if (resumablePost && record.extras.session === null) setCreationPending(context, true);
  const typed = withContentType(record.headers, contentType);
  const protocol = await chooseProtocol(context, url, typed);
  const headers = await withReprDigest(typed, source, protocol, record.extras.sendContentDigest);
  const common = {
    headers,
    credentials,
    // An app that named the draft knows its server keeps a cut creation as an unfinished upload: until
    // the last byte is out, nothing can have been acted on. "auto" may be talking to a plain server.
    // tus too: a POST carrying part of the body (creation-with-upload) makes an unfinished upload.
    body: resumablePost
      ? clearingCreationPending(
          context,
          source,
          record.extras.resumeProtocol === 'ietf' || protocol === 'tus' ? 'last' : 'first',
        )
      : source,
    dispatcher: context.dispatcher,
    signal: live.controller.signal,
    responseTimeoutMs: context.config.responseTimeoutMs,
    stallTimeoutMs: context.config.stallTimeoutMs,
    responseBodyPath: context.responseBodyPath,
    ...callbacks,
  };
  if (protocol === 'none') {
    const keyed = withIdempotencyKey(context, headers);
    return uploadHttp({
      ...common,
      headers: keyed,
      url,
      method: record.method,
      maxRedirects: context.config.maxRedirects,
      onRestart: () => {
        live.hasRestarted = true;
      },
    });
  }
  // A creation under "auto" went by what was remembered of the endpoint: check the answer agrees.
  const learnedCreation = record.extras.resumeProtocol === 'auto' && record.extras.session === null;
  const resumable = (protocol: 'tus' | 'ietf', session: OperationExtras['session']): ResumableUploadInput => ({
    ...common,
    endpoint: url,
    session: session?.uploadUrl ? { uploadUrl: session.uploadUrl, expiresAtMs: session.expiresAtMs ?? null } : null,
    acknowledgedOffset: live.record.ackOffset,
    onSession: (uploadUrl, expiresAtMs) => {
      // Under "auto" a session of the draft means a 104 came: remember the endpoint speaks it.
      if (learnedCreation && protocol === 'ietf' && recallEndpoint(store, url)?.protocol !== 'ietf')
        rememberIetfEndpoint(store, url, record.extras.ietfInteropVersion);
      saveSession(context, {
        protocol,
        uploadUrl,
        ...(expiresAtMs === undefined || expiresAtMs === null ? {} : { expiresAtMs }),
      });
    },
    onOffset: (offset) => {
      live.record = { ...live.record, ackOffset: offset };
      store.recordAcknowledged(record.guid, offset);
    },
  });
  const send = (protocol: 'tus' | 'ietf', session: OperationExtras['session']) =>
    protocol === 'tus'
      ? uploadTus({
          ...resumable(protocol, session),
          metadata: tusMetadata(record.sourcePath),
          sha256Checksum: live.record.extras.tusSha256Checksum,
          extensions: recallEndpoint(store, url)?.tusExtensions,
          parallelUploads: live.record.extras.tusParallelUploads,
          parts: live.record.extras.session?.tusParts ?? null,
          onParts: (tusParts) => saveSession(context, { protocol: 'tus', uploadUrl: null, tusParts: [...tusParts] }),
        })
      : uploadIetf({
          ...resumable(protocol, session),
          // The draft's creation request carries the whole body; appends to the resource need no key.
          ...(session?.uploadUrl ? {} : { headers: withIdempotencyKey(context, headers) }),
          method: record.method,
          maxRedirects: context.config.maxRedirects,
          interopVersion: record.extras.ietfInteropVersion,
          // Only an app that named the draft gets the wait for a 104 (and careful creation): under
          // "auto" most endpoints are plain servers, which the wait would only delay.
          ...(record.extras.resumeProtocol === 'ietf' ? {} : { largeUploadBytes: Number.POSITIVE_INFINITY }),
        });
  const restart = () => {
    if (resumablePost) setCreationPending(context, true);
    live.record = { ...live.record, ackOffset: 0 };
    store.recordAcknowledged(record.guid, 0);
    live.hasRestarted = true;
    live.bytesSent = 0;
  };
  try {
    const result = await send(protocol, record.extras.session);
    if (!learnedCreation || live.record.extras.session !== null || !changedServer(protocol, result)) return result;
    // The endpoint answered unlike what was learned: forget it, ask again, and send once more if the
    // answer differs (the creation was refused, so nothing was accepted).
    forgetEndpoint(store, url);
    const again = await learnedProtocol(context, url, headers);
    if (again === protocol) return result;
    restart();
    return await send(again, null);
  } catch (error) {
    if (!(error instanceof TransferError) || error.code !== 'BT_ERR_RESUME_LOST') throw error;
    // The server forgot the upload: begin a new one from byte 0, in this same attempt (R38 flags it).
    saveSession(context, null);
    restart();
    return send(protocol, null);
  }
}

/** tus refuses a creation at an endpoint without tus (404/405/412 to the POST): it changed. */
const TUS_GONE_STATUSES: ReadonlySet<number> = new Set([404, 405, 412]);

/**
 * Whether a creation's answer contradicts what was learned of the endpoint: a learned tus endpoint
 * refusing the tus POST, or a learned plain one refusing the request with a tus header (tus servers
 * put Tus-Resumable on every answer but OPTIONS's).
 */
function changedServer(protocol: 'tus' | 'ietf', result: HttpUploadResult): boolean {
  const status = result.response.statusCode;
  if (status >= 200 && status < 300) return false;
  if (protocol === 'tus') return result.requestMethod.toUpperCase() === 'POST' && TUS_GONE_STATUSES.has(status);
  return result.response.headers.some(([name]) => name.toLowerCase() === 'tus-resumable');
}

/** The protocol of this attempt; "auto" goes by what the endpoint is known to speak (learned once). */
async function chooseProtocol(
  context: AttemptContext,
  url: URL,
  headers: ReadonlyArray<readonly [string, string]>,
): Promise<'tus' | 'ietf' | 'none'> {
  const extras = context.live.record.extras;
  if (extras.session?.protocol === 'tus' || extras.session?.protocol === 'ietf') return extras.session.protocol;
  if (extras.resumeProtocol !== 'auto') return extras.resumeProtocol;
  if (extras.probedPlain) return 'ietf';
  return learnedProtocol(context, url, headers);
}

/**
 * Remembered, or one OPTIONS probe shared by concurrent uploads. A network error fails this attempt
 * (retried, probed again); an answer without Tus-Version means the endpoint does not speak tus. Not
 * tus: the IETF draft is detected on the request itself (a 104), at no extra cost.
 */
async function learnedProtocol(
  context: AttemptContext,
  url: URL,
  headers: ReadonlyArray<readonly [string, string]>,
): Promise<'tus' | 'ietf'> {
  const { live, store, dispatcher } = context;
  const signal = live.controller.signal;
  const credentials = live.record.extras.serverCredential;
  let decisive = true;
  const capability = await endpointCapability(
    store,
    url,
    async () => {
      const answer = await probeTusEndpoint(url, dispatcher, signal, headers, { credentials });
      decisive = answer.decisive;
      return answer;
    },
    signal,
  );
  if (capability.protocol === 'tus') {
    if (capability.tusSha256Checksum && !live.record.extras.tusSha256Checksum) {
      saveExtras(context, { ...live.record.extras, tusSha256Checksum: true });
    }
    return 'tus';
  }
  // An answer that said nothing of the server (401, 5xx): not remembered, but this operation does
  // not ask again on its retries.
  if (!decisive) saveExtras(context, { ...live.record.extras, probedPlain: true });
  return 'ietf';
}

async function runFtp(context: AttemptContext, url: URL, source: BodySource): Promise<void> {
  const { live, store } = context;
  const record = live.record;
  const session = record.extras.session;
  // Loaded only for FTP uploads: basic-ftp costs ~12 MB of memory an HTTP-only app never needs.
  const { uploadFtp } = await import('../protocols/ftp/ftp-upload.ts');
  const result = await uploadFtp({
    url,
    method: record.method,
    credentials: record.extras.serverCredential,
    body: source,
    signal: live.controller.signal,
    connectTimeoutMs: context.config.connectTimeoutMs,
    stallTimeoutMs: context.config.stallTimeoutMs,
    extraCaCertificates: context.extraCaCertificates,
    // A session exists once an attempt reached the server: later attempts ask it how much it has.
    resume: session?.protocol === 'ftp',
    appendBase: session?.appendBase ?? undefined,
    onAppendBase: (remoteSize) => saveSession(context, { protocol: 'ftp', uploadUrl: null, appendBase: remoteSize }),
    onOffset: (offset) => {
      if (live.record.extras.session === null) saveSession(context, { protocol: 'ftp', uploadUrl: null });
      live.record = { ...live.record, ackOffset: offset };
      store.recordAcknowledged(record.guid, offset);
    },
    onBytesSent: (absolute) => {
      if (live.record.extras.session === null) saveSession(context, { protocol: 'ftp', uploadUrl: null });
      live.bytesSent = absolute;
      live.dirty = true;
    },
  });
  if (result.restarted) live.hasRestarted = true;
}

function progressCallbacks(context: AttemptContext) {
  const { live, store } = context;
  const guid = live.record.guid;
  return {
    onBytesSent(bytesSent: number) {
      live.bytesSent = bytesSent;
      live.dirty = true;
    },
    onResponse(response: ResponseSnapshot, totalBytesToReceive: number) {
      const updated = store.recordResponse(guid, response, totalBytesToReceive);
      if (!updated) return;
      live.acceptResponse(
        { ...updated, extras: live.record.extras, ackOffset: live.record.ackOffset },
        totalBytesToReceive,
      );
      context.onResponse();
    },
    onBytesReceived(bytesReceived: number) {
      live.bytesReceived = bytesReceived;
      live.dirty = true;
    },
  };
}

/** A session makes the upload resumable: no longer a creation in progress (one write for both). */
function saveSession(context: AttemptContext, session: OperationExtras['session']): void {
  saveExtras(context, { ...context.live.record.extras, session, creationPending: false });
}

function isPost(method: string): boolean {
  return method.toUpperCase() === 'POST';
}

function withContentType(
  headers: ReadonlyArray<readonly [string, string]>,
  contentType: string | undefined,
): Array<[string, string]> {
  const list = headers.map(([name, value]): [string, string] => [name, value]);
  if (contentType && !list.some(([name]) => name.toLowerCase() === 'content-type'))
    list.push(['Content-Type', contentType]);
  return list;
}

function tusMetadata(sourcePath: string | null): Record<string, string> {
  return sourcePath ? { filename: basename(sourcePath) } : {};
}
