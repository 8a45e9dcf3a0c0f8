import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import type * as Library from '../src/index.ts';
import type { ResumeProtocol, UploadOperation } from '../src/index.ts';
import { fileName } from './small-uploads-files.ts';

/**
 * The measured side of bench/host-small-uploads.ts, one fresh Node process per measurement. Prints one
 * JSON line `{"type":"result",…}` (or `{"type":"error",…}`) on stdout.
 *
 *   small-uploads-client.ts bgtransfer --url U --dir D --count N --resume-protocol none|auto [--window W] [--timeout-s S]
 *       BGTRANSFER_HOME/BGTRANSFER_APP_ID from the environment. Connects to (or starts) the host first,
 *       creates N uploads of D/f<i>.bin to U/u/<i> (PUT), then times startAsync() of all of them until
 *       the last one completed. With W > 0 at most W are started and not yet settled at any time (the
 *       next one is started as one settles); 0 starts all N at once.
 *   small-uploads-client.ts undici --url U --dir D --count N --concurrency C
 *       The baseline: the same N PUTs with undici request(), C at a time, each file read into memory.
 *   small-uploads-client.ts list
 *       Times BackgroundUploader.getCurrentUploadsAsync() in this fresh process (connect included), then
 *       once more on the open connection.
 *   --dist DIR (bgtransfer and list): the library from a built dist/ directory instead of the source;
 *       a host it starts runs from there too.
 */

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    dir: { type: 'string' },
    count: { type: 'string' },
    concurrency: { type: 'string' },
    'resume-protocol': { type: 'string', default: 'none' },
    'timeout-s': { type: 'string', default: '240' },
    window: { type: 'string', default: '0' },
    dist: { type: 'string' },
  },
});

// `--dist DIR`: the built package in DIR (as users run it; its host is spawned from there too), else the source.
const library = (await import(
  values.dist ? pathToFileURL(join(resolve(values.dist), 'index.js')).href : '../src/index.ts'
)) as typeof Library;
const { BackgroundUploader, closeAsync } = library;

export interface UploadRunResult {
  type: 'result';
  mode: 'bgtransfer' | 'undici';
  count: number;
  completed: number;
  failed: number;
  /** The first few failure messages (not every one of thousands). */
  errors: string[];
  /** bgtransfer: connecting to (and starting) the host before the clock starts. */
  hostReadyMs: number | null;
  /** bgtransfer: createUpload() of every operation, before the clock starts. */
  createMs: number | null;
  /** bgtransfer: the synchronous loop calling the first min(W, N) startAsync(). */
  startLoopMs: number | null;
  /** First startAsync (first request) until the last completion. */
  totalMs: number;
  firstCompletionMs: number;
  uploadsPerSecond: number;
  /** Completions per second of the run, one entry per whole second (shows a slowdown or a stall). */
  perSecond: number[];
  timedOut: boolean;
  clientMaxRssBytes: number;
  clientCpuMs: number;
}

export interface ListRunResult {
  type: 'result';
  mode: 'list';
  operations: number;
  /** First call in this process: connect + hello + list + validation + UploadOperation objects. */
  coldMs: number;
  /** A second call on the open connection. */
  warmMs: number;
  clientMaxRssBytes: number;
}

async function bgtransferRun(): Promise<UploadRunResult> {
  const { url, dir, count } = uploadArgs();
  const resumeProtocol = values['resume-protocol'] as ResumeProtocol;
  const timeoutMs = Number(values['timeout-s']) * 1000;

  // The host is started (or found) here, outside the clock: the benchmark is about throughput.
  let started = performance.now();
  await BackgroundUploader.getCurrentUploadsAsync();
  const hostReadyMs = performance.now() - started;

  const uploader = new BackgroundUploader();
  uploader.method = 'PUT';
  uploader.resumeProtocol = resumeProtocol;
  started = performance.now();
  const operations: UploadOperation[] = [];
  for (let index = 0; index < count; index++) {
    operations.push(uploader.createUpload(`${url}/u/${index}`, join(dir, fileName(index))));
  }
  const createMs = performance.now() - started;

  const window = Number(values.window) > 0 ? Number(values.window) : count;
  const tracker = new CompletionTracker(count);
  let next = 0;
  const startNext = (): void => {
    const operation = operations[next++];
    if (operation === undefined) return;
    operation.startAsync().then(
      (done) => {
        const status = done.getResponseInformation()?.statusCode;
        if (status === 201) tracker.complete();
        else tracker.fail(`status ${String(status)}`);
        startNext();
      },
      (error: unknown) => {
        tracker.fail(describe(error));
        startNext();
      },
    );
  };
  const t0 = performance.now();
  for (let started = 0; started < Math.min(window, count); started++) startNext();
  const startLoopMs = performance.now() - t0;
  const timedOut = !(await tracker.settled(timeoutMs));
  return { ...tracker.result('bgtransfer', t0, timedOut), hostReadyMs, createMs, startLoopMs };
}

async function undiciRun(): Promise<UploadRunResult> {
  const { url, dir, count } = uploadArgs();
  const concurrency = positiveInteger(values.concurrency, '--concurrency');
  // A keep-alive pool like the engine's (undici Agent, pipelining 1), connections not capped.
  const dispatcher = new Agent({ keepAliveTimeout: 4_000, pipelining: 1 });
  const tracker = new CompletionTracker(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < count; index = next++) {
      try {
        const body = await readFile(join(dir, fileName(index)));
        const response = await request(`${url}/u/${index}`, { method: 'PUT', body, dispatcher });
        await response.body.dump();
        if (response.statusCode === 201) tracker.complete();
        else tracker.fail(`status ${response.statusCode}`);
      } catch (error) {
        tracker.fail(describe(error));
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  await dispatcher.close();
  return { ...tracker.result('undici', t0, false), hostReadyMs: null, createMs: null, startLoopMs: null };
}

async function listRun(): Promise<ListRunResult> {
  let started = performance.now();
  const cold = await BackgroundUploader.getCurrentUploadsAsync();
  const coldMs = performance.now() - started;
  started = performance.now();
  await BackgroundUploader.getCurrentUploadsAsync();
  const warmMs = performance.now() - started;
  return {
    type: 'result',
    mode: 'list',
    operations: cold.size,
    coldMs,
    warmMs,
    clientMaxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/** Counts completions and failures with their times; resolves when every upload has settled. */
class CompletionTracker {
  readonly #count: number;
  readonly #times: number[] = [];
  readonly #errors: string[] = [];
  #failed = 0;
  #onSettled: (() => void) | undefined;

  constructor(count: number) {
    this.#count = count;
  }

  complete(): void {
    this.#times.push(performance.now());
    this.#check();
  }

  fail(message: string): void {
    this.#failed += 1;
    this.#times.push(performance.now());
    if (this.#errors.length < 5) this.#errors.push(message);
    this.#check();
  }

  /** false when `timeoutMs` passed first. */
  settled(timeoutMs: number): Promise<boolean> {
    if (this.#times.length >= this.#count) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#onSettled = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  result(mode: 'bgtransfer' | 'undici', t0: number, timedOut: boolean): UploadRunResult {
    const completed = this.#times.length - this.#failed;
    const last = this.#times.at(-1) ?? t0;
    const totalMs = (timedOut ? performance.now() : last) - t0;
    const perSecond: number[] = [];
    for (const time of this.#times) {
      const second = Math.floor((time - t0) / 1000);
      while (perSecond.length <= second) perSecond.push(0);
      perSecond[second] = (perSecond[second] ?? 0) + 1;
    }
    const usage = process.resourceUsage();
    return {
      type: 'result',
      mode,
      count: this.#count,
      completed,
      failed: this.#failed,
      errors: this.#errors,
      hostReadyMs: null,
      createMs: null,
      startLoopMs: null,
      totalMs,
      firstCompletionMs: (this.#times[0] ?? Number.NaN) - t0,
      uploadsPerSecond: completed / (totalMs / 1000),
      perSecond,
      timedOut,
      clientMaxRssBytes: usage.maxRSS * 1024,
      clientCpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
    };
  }

  #check(): void {
    if (this.#times.length >= this.#count) this.#onSettled?.();
  }
}

function uploadArgs(): { url: string; dir: string; count: number } {
  if (!values.url || !values.dir) throw new Error('--url and --dir are required');
  return { url: values.url, dir: values.dir, count: positiveInteger(values.count, '--count') };
}

function positiveInteger(value: string | undefined, flag: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
  return parsed;
}

function describe(error: unknown): string {
  const coded = error as { code?: unknown; message?: unknown };
  return `${String(coded.code ?? 'ERROR')}: ${String(coded.message ?? error)}`;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

// Last: the classes above must be initialized before the top-level await runs them.
const mode = positionals[0];
try {
  if (mode === 'bgtransfer') print(await bgtransferRun());
  else if (mode === 'undici') print(await undiciRun());
  else if (mode === 'list') print(await listRun());
  else throw new Error(`unknown mode ${String(mode)} (bgtransfer, undici or list)`);
} catch (error) {
  const coded = error as { code?: string; message?: string };
  print({ type: 'error', code: coded.code ?? 'ERROR', message: coded.message ?? String(error) });
  process.exitCode = 1;
}
await closeAsync().catch(() => undefined);
// A handle left open (keep-alive sockets) must not keep the measurement alive.
setTimeout(() => process.exit(), 200).unref();
