import { z } from 'zod';
import { type SerializedTransferError, TransferError } from '../core/errors.ts';
import { JsonText } from '../core/json-text.ts';
import { hostLogPath, hostSocketPath } from '../core/paths.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import {
  requestId as id,
  isMethod,
  METHODS,
  type Method,
  type ParamsOf,
  type ResultOf,
  serializedError,
  snapshotSchema,
  watchId,
} from './methods.ts';

/**
 * The app ↔ host wire protocol (docs/architecture.md: "the library talks to the per-user
 * transfer host"). Newline-delimited JSON over `${home}/host.sock`, one message per line, each line at
 * most MAX_FRAME_BYTES. The first frame of a connection is `hello`, which binds it to one app id.
 *
 *   request  {v, id, method, params}
 *   reply    {v, id, ok:true, result} | {v, id, ok:false, error: SerializedTransferError}
 *   push     {v, push:'snapshot', watchId, snapshot}
 *
 * with v = PROTOCOL_VERSION.
 *
 * The methods, their params and results are declared once, in METHODS (methods.ts).
 * A bad frame gets an error reply with the request's id when it could be read (else id null) and the
 * connection stays open; an oversized frame, or anything but a valid `hello` first, closes it.
 *
 * Every message is validated here with zod (the schemas are in methods.ts), on both sides: the host
 * never trusts a client and a client never trusts whatever answers on the socket. A start request
 * carries only what an app may ask for (core/operation-extras.ts requestExtrasSchema); a field the
 * engine keeps for itself is refused by name. These modules, api/validation.ts and core/request-checks.ts
 * (the URI, method and header rules, which the host applies to every start as well) are the only places
 * that reject input.
 */

export type { HostStatus, Method, ParamsOf, ResultOf } from './methods.ts';
/** Where the socket and the host's log live; kept here too, where the wire protocol is read. */
export { hostLogPath, hostSocketPath, isMethod, METHODS, snapshotSchema };

/**
 * Bumped whenever a frame changes meaning: 2 since the start request's extras are strict (a field the
 * engine keeps for itself is refused by name) and carry spool ids. A host and an app of different
 * versions do not talk: each refuses the other's frames with BT_ERR_IPC_PROTOCOL naming both versions.
 */
export const PROTOCOL_VERSION = 2;
/** A client frame (one JSON line, newline excluded) longer than this is refused and the connection closed. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/**
 * The host's frames may be longer: a `list` reply carries every operation of the app (~600 bytes
 * each). The bound still keeps a client from buffering without end if something else answers.
 */
export const MAX_HOST_FRAME_BYTES = 64 * 1024 * 1024;

export function protocolError(message: string): TransferError {
  return new TransferError('BT_ERR_IPC_PROTOCOL', message);
}

// ---- Envelopes.

export interface RequestFrame<M extends Method = Method> {
  v: typeof PROTOCOL_VERSION;
  id: number;
  method: M;
  params: ParamsOf<M>;
}

export type ReplyFrame =
  | { v: typeof PROTOCOL_VERSION; id: number | null; ok: true; result: unknown }
  | { v: typeof PROTOCOL_VERSION; id: number | null; ok: false; error: SerializedTransferError };

export interface PushFrame {
  v: typeof PROTOCOL_VERSION;
  push: 'snapshot';
  watchId: number;
  snapshot: OperationSnapshot;
}

// Any integer `v` parses, so that a client of another version gets told so rather than "bad request".
const requestEnvelope = z.strictObject({ v: z.number().int(), id, method: z.string(), params: z.unknown() });

/** A validated request: `method` narrows `params`. */
export type ValidRequest = {
  [M in Method]: { method: M; params: z.output<(typeof METHODS)[M]['params']> };
}[Method];

/** A request as the host reads it: either valid, or an error to reply with (and the id, if readable). */
export type ParsedRequest =
  | { ok: true; id: number; request: ValidRequest }
  | { ok: false; id: number | null; error: TransferError };

/** Parses one line from a client; params are validated by the method's schema. */
export function parseRequest(line: string): ParsedRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, id: null, error: protocolError('the frame is not valid JSON') };
  }
  const readableId = id.safeParse((raw as { id?: unknown } | null)?.id);
  const replyId = readableId.success ? readableId.data : null;
  const envelope = requestEnvelope.safeParse(raw);
  if (!envelope.success) {
    return { ok: false, id: replyId, error: protocolError(`bad request: ${z.prettifyError(envelope.error)}`) };
  }
  const { method, v } = envelope.data;
  if (v !== PROTOCOL_VERSION) {
    return {
      ok: false,
      id: replyId,
      error: protocolError(`the host speaks protocol ${PROTOCOL_VERSION}, the frame v${v}`),
    };
  }
  if (!isMethod(method)) {
    return { ok: false, id: replyId, error: protocolError(`unknown method ${JSON.stringify(method.slice(0, 64))}`) };
  }
  const params = METHODS[method].params.safeParse(envelope.data.params);
  if (!params.success) {
    const message = `bad params for ${method}: ${z.prettifyError(params.error)}`;
    return { ok: false, id: replyId, error: new TransferError('BT_ERR_INVALID_ARGUMENT', message) };
  }
  return { ok: true, id: envelope.data.id, request: { method, params: params.data } as ValidRequest };
}

const replyEnvelope = z.discriminatedUnion('ok', [
  z.object({ v: z.literal(PROTOCOL_VERSION), id: id.nullable(), ok: z.literal(true), result: z.unknown() }),
  z.object({ v: z.literal(PROTOCOL_VERSION), id: id.nullable(), ok: z.literal(false), error: serializedError }),
]);
const pushEnvelope = z.object({
  v: z.literal(PROTOCOL_VERSION),
  push: z.literal('snapshot'),
  watchId,
  snapshot: snapshotSchema,
});

export type HostMessage = { kind: 'reply'; frame: ReplyFrame } | { kind: 'push'; frame: PushFrame };

/** Parses one line from the host; throws BT_ERR_IPC_PROTOCOL for anything that is not a valid message. */
export function parseHostMessage(line: string): HostMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw protocolError('the host sent a frame that is not valid JSON');
  }
  // Checked before the envelope: a host of another version answers in its own envelope, and what its
  // frame says beyond `v` (e.g. "bad params" for a request it does not know) would mislead.
  const version = (raw as { v?: unknown } | null)?.v;
  if (typeof version === 'number' && Number.isInteger(version) && version !== PROTOCOL_VERSION) {
    throw hostVersionMismatch(version);
  }
  const isPush = typeof raw === 'object' && raw !== null && 'push' in raw;
  const parsed = isPush ? pushEnvelope.safeParse(raw) : replyEnvelope.safeParse(raw);
  if (!parsed.success) throw protocolError(`the host sent a bad message: ${z.prettifyError(parsed.error)}`);
  return isPush
    ? { kind: 'push', frame: parsed.data as PushFrame }
    : { kind: 'reply', frame: parsed.data as ReplyFrame };
}

/**
 * The host on the socket is of another bgtransfer version: typically an older host still running after
 * an upgrade. Stopping it loses nothing (the store keeps its transfers; the next host resumes them).
 */
export function hostVersionMismatch(hostVersion: number): TransferError {
  const which = hostVersion < PROTOCOL_VERSION ? 'an older' : 'a newer';
  const error = protocolError(
    `the transfer host speaks IPC protocol ${hostVersion}, this app protocol ${PROTOCOL_VERSION}: it is ` +
      `the host of ${which} bgtransfer, still running; stop it with \`bgtransfer host stop\` (its transfers ` +
      'are kept and the next host resumes them) and try again',
  );
  versionMismatches.add(error);
  return error;
}

const versionMismatches = new WeakSet<TransferError>();

/** Whether `error` says the host on the socket speaks another protocol version (`bgtransfer host stop` then signals it). */
export function isHostVersionMismatch(error: unknown): boolean {
  return error instanceof TransferError && versionMismatches.has(error);
}

/** Validates a successful reply's result against the method's result schema. */
export function parseResult<M extends Method>(method: M, result: unknown): ResultOf<M> {
  const parsed = METHODS[method].result.safeParse(result);
  if (!parsed.success) throw protocolError(`bad ${method} result from the host: ${z.prettifyError(parsed.error)}`);
  return parsed.data as ResultOf<M>;
}

export function encodeFrame(message: RequestFrame | ReplyFrame | PushFrame): string {
  if ('ok' in message && message.ok && message.result instanceof JsonText) {
    // The same frame JSON.stringify would write, with the result's text as it is.
    return `{"v":${message.v},"id":${JSON.stringify(message.id)},"ok":true,"result":${message.result.text}}\n`;
  }
  return `${JSON.stringify(message)}\n`;
}

const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines of at most MAX_FRAME_BYTES. An over-long line is reported as soon as
 * it passes the bound (without buffering the rest of it), after which the decoder yields nothing more:
 * the connection is to be closed.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #oversize = false;

  constructor(maxFrameBytes = MAX_FRAME_BYTES) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** The complete lines in `chunk` (blank lines skipped), and whether a line went over the bound. */
  push(chunk: Buffer): { lines: string[]; oversize: boolean } {
    const lines: string[] = [];
    if (this.#oversize) return { lines, oversize: true };
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      if (this.#pendingBytes + end - start > this.#maxFrameBytes) return this.#refuse(lines);
      const piece = chunk.subarray(start, end);
      const line = this.#pendingBytes === 0 ? piece : Buffer.concat([...this.#pending, piece]);
      this.#pending = [];
      this.#pendingBytes = 0;
      start = end + 1;
      const textLine = line.toString('utf8').trim();
      if (textLine.length > 0) lines.push(textLine);
    }
    if (start < chunk.length) {
      this.#pendingBytes += chunk.length - start;
      if (this.#pendingBytes > this.#maxFrameBytes) return this.#refuse(lines);
      this.#pending.push(chunk.subarray(start));
    }
    return { lines, oversize: false };
  }

  #refuse(lines: string[]): { lines: string[]; oversize: true } {
    this.#oversize = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    return { lines, oversize: true };
  }
}
