import { type SerializedTransferError, TransferError } from '../core/errors.ts';
import { JsonText } from '../core/json-text.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import type { Method, ParamsOf } from './methods.ts';

/**
 * The framing of the app ↔ host wire protocol (protocol.ts describes it): the version, the bounds, the
 * three frame shapes, writing a frame and splitting a byte stream into frames. Nothing here validates
 * a frame's content, so the socket client loads this without the host's schemas (zod).
 */

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
/** The most operations one listPage reply may carry (about 700 bytes each). */
export const MAX_LIST_PAGE = 2000;

export function protocolError(message: string): TransferError {
  return new TransferError('BT_ERR_IPC_PROTOCOL', message);
}

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

export function encodeFrame(message: RequestFrame | ReplyFrame | PushFrame): string {
  return encodeFrameParts(message).join('');
}

/**
 * The frame as the strings to write one after the other. A JsonText result (an enumeration page, about
 * 0.8 MB) is one of them as it is, between the envelope's two halves: written as one concatenation, V8
 * would first copy the page into a flat string of its own, before the socket encodes it.
 */
export function encodeFrameParts(message: RequestFrame | ReplyFrame | PushFrame): string[] {
  if ('ok' in message && message.ok && message.result instanceof JsonText) {
    // The same frame JSON.stringify would write, with the result's text as it is.
    return [`{"v":${message.v},"id":${JSON.stringify(message.id)},"ok":true,"result":`, message.result.text, '}\n'];
  }
  return [`${JSON.stringify(message)}\n`];
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
