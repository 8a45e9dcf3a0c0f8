import type { Dispatcher } from 'undici';
import type { Config } from '../core/config.ts';
import { TransferError, toTransferError } from '../core/errors.ts';
import type { OperationExtras } from '../core/operation-extras.ts';
import type { ResponseSnapshot } from '../core/snapshot.ts';
import { chosenProtocol } from '../protocols/registry.ts';
import { type ProtocolAnswer, requestMessage, type UploadProtocol } from '../protocols/upload-protocol.ts';
import type { OperationStore } from '../store/operation-store.ts';
import {
  clearingCreationPending,
  recordTruncatedResponse,
  saveExtras,
  setCreationPending,
  withIdempotencyKey,
} from './attempt-delivery.ts';
import { type AttemptBody, openAttemptBody, withContentDigest, withReprDigest } from './attempt-digest.ts';
import { chooseProtocol, learnedProtocol } from './attempt-protocol.ts';
import { forgetEndpoint, recallEndpoint, rememberEndpoint } from './endpoint-capabilities.ts';
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
  /**
   * This attempt started over from byte 0 (publish it at once: R38). A restarted request that ends
   * before the next progress tick would otherwise never show hasRestarted to the app.
   */
  onRestarted(): void;
}

export type AttemptOutcome =
  /** `extras`: changed by the attempt (the content digest), stored with the completion in one write. */
  | { kind: 'completed'; extras?: OperationExtras | undefined }
  | { kind: 'failed'; error: TransferError; retryAfterMs: number | undefined };

/**
 * One attempt of an operation, through the upload protocol chosen for it (attempt-protocol.ts; the
 * protocols are plug-ins behind one interface, docs/protocols.md): a stored session continues where
 * the server is; "auto" goes by what the store remembers of the endpoint, or asks it once. A server
 * that forgot the upload gets a new one from byte 0 in the same attempt (R38). A final 2xx completes;
 * any other final status is an error that keeps the response (docs/windows-behaviour.md, "HTTP errors").
 */
export async function runAttempt(context: AttemptContext): Promise<AttemptOutcome> {
  // A request of this upload already got a 2xx and was then stopped (pause, network, preempt): the
  // server has the body, so a new request would deliver it twice.
  if (acceptedByServer(context.live.record)) return { kind: 'completed' };
  let body: AttemptBody | undefined;
  let outcome: AttemptOutcome;
  try {
    const url = new URL(context.live.record.requestedUri);
    body = openAttemptBody(context.live.record);
    outcome = judge(context, await runProtocol(context, url, body));
  } catch (error) {
    outcome = { kind: 'failed', error: toTransferError(error, 'BT_ERR_NETWORK'), retryAfterMs: undefined };
  }
  const extras = body && withContentDigest(context.live.record.extras, body.source);
  if (extras === undefined) return outcome;
  // Whatever the outcome (attempt-digest.ts); a completion stores it with its own move.
  if (outcome.kind === 'completed') return { kind: 'completed', extras };
  saveExtras(context, extras);
  return outcome;
}

function judge(context: AttemptContext, result: ProtocolAnswer | undefined): AttemptOutcome {
  // The server stored the whole body and the protocol has no answer to keep.
  if (result === undefined) return { kind: 'completed' };
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
      // The request that got the answer (a protocol's own request, not always the app's), after redirects.
      requestMessage(result.requestMethod, result.response.actualUri, `the server answered ${status}`),
      { httpStatus: status },
    ),
    retryAfterMs: parseRetryAfter(retryAfter, Date.now()),
  };
}

async function runProtocol(
  context: AttemptContext,
  url: URL,
  opened: AttemptBody,
): Promise<ProtocolAnswer | undefined> {
  const { live, store } = context;
  const record = live.record;
  const { source, contentType } = opened;
  const asked = chosenProtocol(url, record.extras.resumeProtocol);
  // A POST headed for a resumable protocol: until a session exists or its first body byte goes out, a
  // crash sent nothing the server could have accepted (recovery creates it again instead of R12).
  const resumablePost = isPost(record.method) && (asked === undefined || asked.capabilities.resumable);
  if (resumablePost && record.extras.session === null) setCreationPending(context, true);
  const typed = withContentType(record.headers, contentType);
  const protocol = await chooseProtocol(context, url, typed);
  const headers = await withReprDigest(
    typed,
    source,
    protocol.capabilities.reprDigest,
    record.extras.sendContentDigest,
  );
  // An app that named a protocol keeping cut creations knows its server holds one as an unfinished
  // upload: until the last byte is out, nothing can have been acted on. "auto" may meet a plain server,
  // unless the chosen protocol's creation is itself an unfinished upload whoever chose it.
  const keepsCut = asked?.capabilities.keepsCutCreation || protocol.capabilities.creationAlwaysUnfinished;
  const body = resumablePost ? clearingCreationPending(context, source, keepsCut ? 'last' : 'first') : source;
  // A creation under "auto" went by what was remembered of the endpoint: check the answer agrees.
  const learnedCreation = asked === undefined && record.extras.session === null;
  const send = (chosen: UploadProtocol, session: OperationExtras['session']) =>
    chosen.upload({
      url,
      method: record.method,
      headers,
      body,
      sourcePath: record.sourcePath,
      extras: live.record.extras,
      session: session?.protocol === chosen.name ? session : null,
      acknowledgedOffset: live.record.ackOffset,
      // Read only by a protocol that uses it (tus's extensions): a plain or named protocol's attempt
      // pays no lookup, and a plain origin's one-URL-per-file uploads would each miss the cache.
      get endpoint() {
        return recallEndpoint(store, url);
      },
      credentials: record.extras.serverCredential,
      dispatcher: context.dispatcher,
      signal: live.controller.signal,
      connectTimeoutMs: context.config.connectTimeoutMs,
      responseTimeoutMs: context.config.responseTimeoutMs,
      stallTimeoutMs: context.config.stallTimeoutMs,
      maxRedirects: context.config.maxRedirects,
      extraCaCertificates: context.extraCaCertificates,
      responseBodyPath: context.responseBodyPath,
      withIdempotencyKey: (list) => withIdempotencyKey(context, list),
      onSession: (created) => {
        const learned = learnedCreation ? chosen.learnsFromSession?.(live.record.extras) : undefined;
        if (learned && recallEndpoint(store, url)?.protocol !== learned.protocol) rememberEndpoint(store, url, learned);
        saveSession(context, created);
      },
      onOffset: (offset) => {
        live.record = { ...live.record, ackOffset: offset };
        store.recordAcknowledged(record.guid, offset);
      },
      onRestarted: () => {
        live.hasRestarted = true;
        context.onRestarted();
      },
      ...progressCallbacks(context),
    });
  const restart = () => {
    if (resumablePost) setCreationPending(context, true);
    live.record = { ...live.record, ackOffset: 0 };
    store.recordAcknowledged(record.guid, 0);
    live.hasRestarted = true;
    live.bytesSent = 0;
    context.onRestarted();
  };
  try {
    const result = await send(protocol, record.extras.session);
    if (!learnedCreation || live.record.extras.session !== null || !contradicts(protocol, result)) return result;
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

/** Whether a refused creation's answer contradicts what was learned of the endpoint (a 2xx never does). */
function contradicts(protocol: UploadProtocol, result: ProtocolAnswer | undefined): boolean {
  if (result === undefined) return false;
  const status = result.response.statusCode;
  if (status >= 200 && status < 300) return false;
  return protocol.contradicts?.(result) ?? false;
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
