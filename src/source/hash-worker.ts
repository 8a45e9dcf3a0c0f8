import { Worker } from 'node:worker_threads';

/**
 * SHA-256 on a worker thread, so that hashing a big body runs beside the socket writes on another core
 * instead of between them on the event loop (sha-256 of 1 GiB is about 0.75 CPU s on this class of
 * machine, more than curl's whole upload).
 *
 * The bytes are not copied: a chunk whose memory is a SharedArrayBuffer (the file source's read ring)
 * goes to the worker as a view of that memory. Any other chunk is copied once into shared memory. The
 * worker counts the pieces it has hashed in a shared counter, so the body can tell without a message
 * how far behind the worker is: a lent chunk must be hashed before its buffer is refilled
 * (`waitUntilHashed`, used by DigestingBody before it pulls the next chunk).
 *
 * One worker per process, started at the first job and kept while the process runs, but never keeping
 * it alive (unref'd except while the event loop waits on it).
 */

// Plain CommonJS run with `eval`: no file to locate next to the built or the source module, and no
// TypeScript loader in the worker (execArgv is emptied).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (message) => {
  if (message.op === 'start') {
    jobs.set(message.id, { hash: createHash('sha256'), done: new Int32Array(message.done) });
  } else if (message.op === 'update') {
    const job = jobs.get(message.id);
    job.hash.update(new Uint8Array(message.buffer, message.offset, message.length));
    Atomics.add(job.done, 0, 1);
    Atomics.notify(job.done, 0);
  } else if (message.op === 'digest') {
    const job = jobs.get(message.id);
    jobs.delete(message.id);
    const digest = job.hash.digest();
    parentPort.postMessage({ id: message.id, digest });
  } else if (message.op === 'drop') {
    jobs.delete(message.id);
  }
});
`;

/** Atomics.waitAsync is in Node 20 but not in the ES2023 library this project compiles against. */
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
) => { async: boolean; value: Promise<'ok' | 'timed-out'> | 'not-equal' | 'timed-out' };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

interface Pending {
  resolve(digest: Buffer): void;
  reject(error: Error): void;
}

class HashThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #waiters = 0;
  #failure: Error | null = null;
  /** Set once the thread runs: until then every piece is posted as a copy (nothing lent waits on its start). */
  online = false;

  constructor() {
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      env: {},
      // It keeps a hash state per job and the message in hand: a small heap keeps its RSS down (about
      // 2.5 MiB less than the defaults).
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 },
    });
    this.#worker.unref();
    this.#worker.once('online', () => {
      this.online = true;
    });
    this.#worker.on('message', (message: { id: number; digest: Uint8Array }) => {
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      pending?.resolve(Buffer.from(message.digest.buffer, message.digest.byteOffset, message.digest.byteLength));
      this.#release();
    });
    const fail = (error: Error): void => {
      this.#failure = error;
      if (thread === this) thread = null;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`the hashing thread exited (code ${code})`)));
  }

  get failure(): Error | null {
    return this.#failure;
  }

  post(message: object): void {
    this.#worker.postMessage(message);
  }

  digest(id: number): Promise<Buffer> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#hold();
      this.#worker.postMessage({ op: 'digest', id });
    });
  }

  /** Keeps the process alive while something awaits the worker (a counter's move, a digest). */
  #hold(): void {
    if (this.#waiters++ === 0) this.#worker.ref();
  }

  #release(): void {
    if (--this.#waiters === 0) this.#worker.unref();
  }

  async waitFor(done: Int32Array, target: number): Promise<void> {
    this.#hold();
    try {
      for (let seen = Atomics.load(done, 0); seen < target; seen = Atomics.load(done, 0)) {
        if (this.#failure !== null) throw this.#failure;
        const wait = waitAsync(done, 0, seen);
        if (wait.async) await wait.value;
      }
    } finally {
      this.#release();
    }
  }
}

let thread: HashThread | null = null;
let nextId = 1;

/**
 * A piece is posted as a view of the caller's memory only while the thread is less than this far
 * behind (a few pieces of up to 1 MiB); beyond it (or before the thread runs) as a copy, so that the
 * body need not wait for a thread that was descheduled or is still starting: a copy of 256 KiB costs
 * tens of microseconds.
 */
const VIEW_WHILE_BEHIND_BYTES = 4 * 1024 * 1024;

/** A running SHA-256 whose `update`s are hashed on the shared worker thread, in order. */
export class ThreadedSha256 {
  readonly #thread: HashThread;
  readonly #id = nextId++;
  /** Pieces the worker has hashed, counted by the worker. */
  readonly #done = new Int32Array(new SharedArrayBuffer(4));
  /** End offset (in bytes fed) of each piece posted and not yet seen hashed; the first is piece #base. */
  readonly #ends: number[] = [];
  #base = 0;
  /** Pieces posted as views of the caller's memory and not yet seen hashed: their number and start. */
  readonly #views: Array<{ index: number; start: number }> = [];
  /** Bytes seen hashed: the end of piece #base - 1. */
  #hashed = 0;
  #fed = 0;
  #finished = false;

  constructor() {
    thread ??= new HashThread();
    this.#thread = thread;
    this.#thread.post({ op: 'start', id: this.#id, done: this.#done.buffer });
  }

  /**
   * Hashes `chunk` on the worker. A chunk in shared memory may be read there as it is: the caller
   * must not change it before `waitUntilHashed` says the worker is past it.
   */
  update(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    let view = chunk;
    const lend =
      chunk.buffer instanceof SharedArrayBuffer &&
      this.#thread.online &&
      this.#fed - this.hashed() < VIEW_WHILE_BEHIND_BYTES;
    if (lend) {
      this.#views.push({ index: this.#base + this.#ends.length, start: this.#fed });
    } else {
      view = new Uint8Array(new SharedArrayBuffer(chunk.byteLength));
      view.set(chunk);
    }
    const message = {
      op: 'update',
      id: this.#id,
      buffer: view.buffer,
      offset: view.byteOffset,
      length: view.byteLength,
    };
    this.#thread.post(message);
    this.#fed += chunk.byteLength;
    this.#ends.push(this.#fed);
  }

  /** Bytes the worker has hashed for sure (read without waiting). */
  hashed(): number {
    const done = Atomics.load(this.#done, 0);
    while (this.#base < done && this.#ends.length > 0) {
      this.#hashed = this.#ends.shift() ?? this.#hashed;
      this.#base += 1;
    }
    while ((this.#views[0]?.index ?? done) < done) this.#views.shift();
    return this.#hashed;
  }

  /**
   * Resolves once the worker is done with every piece it was lent (not copied) that starts before
   * `bytes`; and, so that copies cannot pile up without bound, once it is at most `maxBehind` behind.
   */
  async waitUntilHashed(bytes: number, maxBehind = Number.POSITIVE_INFINITY): Promise<void> {
    this.hashed();
    let target = this.#base;
    for (const view of this.#views) {
      if (view.start >= bytes) break;
      target = view.index + 1;
    }
    const behind = this.#ends.findIndex((end) => end >= this.#fed - maxBehind);
    if (behind !== -1) target = Math.max(target, this.#base + behind);
    if (target > this.#base) await this.#thread.waitFor(this.#done, target);
  }
  /** The digest of everything fed; the job ends. */
  digest(): Promise<Buffer> {
    this.#finished = true;
    return this.#thread.digest(this.#id);
  }

  /** Ends the job without a digest (an attempt that stopped before the end of the body). */
  drop(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#thread.failure === null) this.#thread.post({ op: 'drop', id: this.#id });
  }
}
