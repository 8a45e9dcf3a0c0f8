import type { Socket } from 'node:net';
import { TransferError } from '../core/errors.ts';
import type { LogSink } from '../core/lazy-logger.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import { encodeFrame, FrameDecoder, MAX_HOST_FRAME_BYTES, PROTOCOL_VERSION } from './frames.ts';
import { parseHostMessage, parseResult } from './host-message.ts';
import type { Method, ParamsOf, ResultOf } from './methods.ts';

/** A request whose connection closed before the reply came. Internal: the link retries or rejects. */
export class ConnectionLost extends Error {}

export function lostDuring(method: string, cause: unknown): TransferError {
  return new TransferError('BT_ERR_HOST_UNREACHABLE', `the connection to the transfer host was lost during ${method}`, {
    cause,
  });
}

export interface ConnectionEvents {
  push(watchId: number, snapshot: OperationSnapshot): void;
  close(): void;
}

interface Pending {
  method: Method;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** One socket to the host: frames, replies correlated by id, pushes handed to the link (socket-port.ts). */
export class Connection {
  readonly #socket: Socket;
  readonly #log: LogSink;
  readonly #events: ConnectionEvents;
  readonly #decoder = new FrameDecoder(MAX_HOST_FRAME_BYTES);
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #holdOpen = false;
  #failure: TransferError | undefined;

  constructor(socket: Socket, log: LogSink, events: ConnectionEvents) {
    this.#socket = socket;
    this.#log = log;
    this.#events = events;
    // An idle connection must not keep the app alive; pending calls and active watches do (#updateRef).
    socket.unref();
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => this.#log.debug({ err: error }, 'transfer host socket error'));
    socket.once('close', () => this.#onClose());
  }

  request<M extends Method>(method: M, params: ParamsOf<M>, timeoutMs?: number): Promise<ResultOf<M>> {
    if (this.#socket.destroyed) return Promise.reject(new ConnectionLost('the connection is closed'));
    const id = this.#nextId++;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.#fail(new TransferError('BT_ERR_HOST_UNREACHABLE', `the transfer host did not answer ${method}`));
            }, timeoutMs);
      const settle = (): void => {
        clearTimeout(timer);
        this.#pending.delete(id);
        this.#updateRef();
      };
      this.#pending.set(id, {
        method,
        resolve: (result) => {
          settle();
          resolve(result as ResultOf<M>);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      this.#updateRef();
      this.#socket.write(encodeFrame({ v: PROTOCOL_VERSION, id, method, params }));
    });
  }

  holdOpen(hold: boolean): void {
    this.#holdOpen = hold;
    this.#updateRef();
  }

  close(): void {
    this.#socket.end();
    this.#socket.destroySoon();
  }

  #updateRef(): void {
    if (this.#socket.destroyed) return;
    if (this.#pending.size > 0 || this.#holdOpen) this.#socket.ref();
    else this.#socket.unref();
  }

  #onData(chunk: Buffer): void {
    const { lines, oversize } = this.#decoder.push(chunk);
    for (const line of lines) {
      try {
        this.#onMessage(line);
      } catch (error) {
        // A host that breaks the protocol cannot be trusted with the calls in flight either.
        this.#fail(error instanceof TransferError ? error : new TransferError('BT_ERR_INTERNAL', String(error)));
        return;
      }
    }
    if (oversize) this.#fail(new TransferError('BT_ERR_IPC_PROTOCOL', 'the transfer host sent an oversized frame'));
  }

  #onMessage(line: string): void {
    const message = parseHostMessage(line);
    if (message.kind === 'push') {
      this.#events.push(message.frame.watchId, message.frame.snapshot);
      return;
    }
    const reply = message.frame;
    const pending = reply.id === null ? undefined : this.#pending.get(reply.id);
    if (!pending) {
      this.#log.warn({ id: reply.id, error: reply.ok ? undefined : reply.error }, 'unexpected reply from the host');
      return;
    }
    if (reply.ok) pending.resolve(parseResult(pending.method, reply.result));
    else pending.reject(TransferError.fromJSON(reply.error));
  }

  #fail(error: TransferError): void {
    this.#failure ??= error;
    this.#socket.destroy();
  }

  #onClose(): void {
    const failure = this.#failure;
    for (const pending of [...this.#pending.values()]) {
      pending.reject(failure ?? new ConnectionLost('the connection to the transfer host closed'));
    }
    this.#events.close();
  }
}
