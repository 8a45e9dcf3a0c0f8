import type { Dispatcher } from 'undici';
import type { TransferError } from '../../core/errors.ts';
import { RESPONSE_BODY_LIMIT_BYTES, type ResponseSink } from './exchange-types.ts';
import { MemoryBody } from './memory-body.ts';
import { ProgressThrottle } from './progress-throttle.ts';
import { ResponseFile, removeStaleResponseFile } from './response-file.ts';

/**
 * The response-body side of an exchange: the final response's body into its sink (memory, a file with
 * backpressure on the socket, or dropped), the bytes received and their progress.
 */
export class ResponseBody {
  readonly #fail: (error: TransferError) => void;
  readonly #received: ProgressThrottle;
  #sink: ResponseSink = { kind: 'memory' };
  /** How much of the body the sink takes before the answer is cut (boundOf), set with the sink. */
  #bound: number | undefined = RESPONSE_BODY_LIMIT_BYTES;
  #file: ResponseFile | null = null;
  #controller: Dispatcher.DispatchController | null = null;
  readonly #memory = new MemoryBody();
  #bytesReceived = 0;
  /** Body bytes taken into the sink so far (a file counts them as queued, before they are written). */
  #taken = 0;
  #waitingForDrain = false;

  /** `settled` tells whether the exchange is over (late callbacks then do nothing). */
  constructor(
    fail: (error: TransferError) => void,
    onBytesReceived: (value: number) => void,
    readonly settled: () => boolean,
  ) {
    this.#fail = fail;
    this.#received = new ProgressThrottle(onBytesReceived);
  }

  get sink(): ResponseSink {
    return this.#sink;
  }

  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  get memory(): MemoryBody {
    return this.#memory;
  }

  /** Where the final response's body goes. */
  choose(sink: ResponseSink): void {
    this.#sink = sink;
    this.#bound = boundOf(sink);
    // A file sink's file is opened at the first body byte: most answers to an upload have no body, and
    // open + close per upload was a large share of a small upload's cost (readers treat no file as empty).
    // A download's partial file (a `position`, or `openAtHead`) is opened now: it must exist even for an
    // empty body, and must not be taken for an earlier attempt's stale response file and removed.
    if (sink.kind === 'file' && (sink.position !== undefined || sink.openAtHead)) {
      this.#file = this.#open(sink.path, sink.position);
    }
  }

  #open(path: string, position?: number): ResponseFile {
    const hashes = this.#sink.kind === 'file' ? (this.#sink.hashes ?? []) : [];
    return new ResponseFile(
      path,
      {
        onWritten: (chunks, bytes) => {
          if (this.settled()) return;
          // Hashed as written: what a digest check sees is exactly what is in the file.
          for (const hash of hashes) for (const chunk of chunks) hash.update(chunk);
          this.#bytesReceived += bytes;
          this.#received.update(this.#bytesReceived);
        },
        onDrain: () => {
          this.#waitingForDrain = false;
          if (!this.settled()) this.#controller?.resume();
        },
        onError: this.#fail,
      },
      position,
    );
  }

  data(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const bound = this.#bound;
    if (bound !== undefined) {
      const room = bound - this.#taken;
      if (chunk.byteLength > room) {
        // Over the sink's bound: keep what fits and end the answer here. The exchange takes the abort as
        // a cut body (the server did answer), and the connection goes with it.
        if (room > 0) this.#take(controller, chunk.subarray(0, room));
        if (!controller.aborted) controller.abort(new Error(`the response body is longer than ${bound} bytes`));
        return;
      }
    }
    this.#take(controller, chunk);
  }

  #take(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const length = chunk.byteLength;
    this.#taken += length;
    if (this.#file === null && this.#sink.kind === 'file' && length > 0) this.#file = this.#open(this.#sink.path);
    const file = this.#file;
    if (file === null) {
      this.#bytesReceived += length;
      if (this.#sink.kind === 'memory') this.#memory.keep(chunk);
      return;
    }
    // Backpressure: a slow disk pauses the socket instead of buffering the response in memory.
    if (!file.write(chunk) && !this.#waitingForDrain) {
      this.#waitingForDrain = true;
      this.#controller = controller;
      controller.pause();
    }
  }

  /** The body ended: `done` once it is all in the file and the file is closed. */
  end(done: () => void): void {
    const file = this.#file;
    if (file === null) {
      const stale = this.#sink.kind === 'file' ? removeStaleResponseFile(this.#sink.path) : null;
      if (stale === null) done();
      else this.#fail(stale);
      return;
    }
    void file.end().then(() => {
      if (this.settled()) return;
      this.#received.flush(this.#bytesReceived);
      done();
    });
  }

  cancel(): void {
    this.#received.cancel();
  }

  /** Closes the response file (after a failure, or a success whose file already closed). */
  async release(): Promise<void> {
    await this.#file?.destroy();
  }
}

/**
 * How much of a body the sink takes before the answer is cut: a file its `maxBytes` (none for a
 * download's partial file), memory and discard RESPONSE_BODY_LIMIT_BYTES (what they keep is less, but
 * reading on for ever would hold the request: a body that never ends is not a stall). A `headers`
 * sink's body is dropped within a grace period anyway.
 */
function boundOf(sink: ResponseSink): number | undefined {
  switch (sink.kind) {
    case 'file':
      return sink.maxBytes;
    case 'memory':
    case 'discard':
      return RESPONSE_BODY_LIMIT_BYTES;
    case 'headers':
      return undefined;
  }
}
