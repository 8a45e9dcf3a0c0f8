import { setFlagsFromString } from 'node:v8';
import { startedWithFlag } from './started-flags.ts';

/**
 * Compiling one WebAssembly module that V8 never recompiles with its optimising compiler (TurboFan),
 * without changing how the rest of the process's WebAssembly is compiled. For undici's HTTP parser
 * that recompilation is a 25–30 MiB spike of resident memory and 2–3 CPU seconds of a background
 * thread at the first big transfer, for no measurable speed (docs/performance.md, "Host and library
 * weight").
 *
 * How V8 (Node 20's) behaves, each point checked by test/perf/parser-tiering.test.ts:
 * - `--liftoff-only` also sets `--no-wasm-tier-up --no-wasm-dynamic-tiering`, and a module compiled
 *   under it is compiled without dynamic tiering;
 * - such a module is recompiled by TurboFan only while `--wasm-tier-up` is on, at run time;
 * - a module compiled with dynamic tiering (the default) tiers up on its own hot functions whatever
 *   `--wasm-tier-up` says;
 * - V8 keeps one compiled module per wire bytes while a `WebAssembly.Module` of them is alive: undici's
 *   own `new WebAssembly.Module(sameBytes)` at its first connection gets the one compiled here.
 * So the flags are set around one synchronous compile and put back, except `--wasm-tier-up`, which
 * stays off: the only modules it concerns are those compiled without dynamic tiering, which in a
 * process started with V8's defaults are the ones compiled here. A process started with its own
 * WebAssembly tiering flags is left alone (its modules compile as it asked).
 */

const TIERING_FLAGS = ['--liftoff-only', '--no-wasm-tier-up', '--no-wasm-dynamic-tiering', '--wasm-dynamic-tiering'];
const startedWithTieringFlags = startedWithFlag(TIERING_FLAGS);
let processWide = process.execArgv.includes('--liftoff-only');

/** The process runs with `--liftoff-only` for everything (the transfer host sets it): nothing to do. */
export function noteLiftoffOnlyProcessWide(): void {
  processWide = true;
}

export function compileLiftoffOnly(bytes: Uint8Array): WebAssemblyModule {
  if (processWide || startedWithTieringFlags) return new WasmModule(bytes);
  setFlagsFromString('--liftoff-only');
  try {
    return new WasmModule(bytes);
  } finally {
    setFlagsFromString('--no-liftoff-only --wasm-dynamic-tiering');
  }
}

/** The module object; its type is opaque here (only held, never used). */
export type WebAssemblyModule = object;

/** The global WebAssembly is typed by the DOM library only, which this Node-only project does not load. */
const WasmModule = (
  globalThis as unknown as {
    WebAssembly: { Module: new (bytes: Uint8Array) => WebAssemblyModule };
  }
).WebAssembly.Module;
