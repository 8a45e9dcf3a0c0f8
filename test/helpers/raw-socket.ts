import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { OperationSnapshot } from '../../src/core/snapshot.ts';
import { PROTOCOL_VERSION } from '../../src/ipc/protocol.ts';

/**
 * Raw NDJSON frames on a host socket, for tests that play a client which does not go through
 * SocketPort (garbage, forged fields): what the host must survive and refuse.
 */

export interface RawReply {
  id: number | null;
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string };
}

/** One request frame as a line (without its newline). */
export function request(id: number, method: string, params: unknown): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, id, method, params });
}

/** Sends lines on a raw connection; collects the replies until the host closes it or goes quiet. */
export function rawSession(path: string, lines: string[]): Promise<{ replies: RawReply[]; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const replies: RawReply[] = [];
    let buffered = '';
    let quiet: NodeJS.Timeout | undefined;
    const finish = (closed: boolean): void => {
      clearTimeout(quiet);
      socket.destroy();
      resolve({ replies, closed });
    };
    socket.on('error', () => undefined); // EPIPE/ECONNRESET while an oversized line is refused
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const part of parts) replies.push(JSON.parse(part) as RawReply);
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(false), 300);
    });
    socket.once('close', () => finish(true));
    socket.once('connect', () => {
      for (const line of lines) socket.write(`${line}\n`);
      quiet = setTimeout(() => finish(false), 1_000);
    });
  });
}

/** Any frame a host sends: a reply (id, ok, result or error) or a push (push, watchId, snapshot). */
export interface RawFrame {
  id?: number | null;
  ok?: boolean;
  result?: unknown;
  error?: { code: string };
  push?: string;
  watchId?: number;
  snapshot?: OperationSnapshot;
}

/**
 * A raw client that stays connected: sends lines, and reads frames until `done` says so (a generous
 * deadline for a loaded machine). For exchanges that go on while pushes arrive, where rawSession's
 * "until quiet" would end too early.
 */
export class RawClient {
  readonly frames: RawFrame[] = [];
  readonly #socket: Socket;
  #buffered = '';
  #waiter: (() => void) | undefined;

  constructor(path: string) {
    this.#socket = connect(path);
    this.#socket.on('data', (chunk) => {
      this.#buffered += chunk.toString('utf8');
      const parts = this.#buffered.split('\n');
      this.#buffered = parts.pop() ?? '';
      for (const part of parts) this.frames.push(JSON.parse(part) as RawFrame);
      this.#waiter?.();
    });
  }

  send(...lines: string[]): void {
    for (const line of lines) this.#socket.write(`${line}\n`);
  }

  async until(done: (frames: RawFrame[]) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!done(this.frames)) {
      if (Date.now() > deadline) assert.fail(`no ${what} within 30 s: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
        setTimeout(resolve, 200);
      });
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}
