/**
 * Whether this process was started with one of some Node/V8 flags, on its command line or in
 * NODE_OPTIONS: the run-time flag changes of core/ (the young generation, WebAssembly tiering, the
 * optimising compiler) leave alone a process whose starter chose those flags itself. V8 reads `_` and
 * `-` alike in flag names.
 */
const STARTED_WITH = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]
  .filter((arg) => arg !== '')
  .map((arg) => arg.replaceAll('_', '-'));

/** `flags` are names (`--max-semi-space-size`: any value matches) or, with `wholeFlags`, exact flags (`--max-opt=0`). */
export function startedWithFlag(flags: readonly string[], wholeFlags = false): boolean {
  return STARTED_WITH.some((arg) => flags.includes(wholeFlags ? arg : arg.replace(/=.*/, '')));
}
