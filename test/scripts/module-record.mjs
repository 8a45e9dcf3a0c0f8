// Which modules a test process loads, for the scripts that print them (loaded-modules.ts on the
// sources under tsx, loaded-modules-built.mjs on the built package under plain Node, hence JavaScript).
import { readFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

/** From now on, every ES module resolution is appended to `logFile`. */
export function recordModules(logFile) {
  // Module hooks run on their own thread; a synchronous append keeps every resolution in the file
  // by the time an awaited import has settled.
  const hooks = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(logFile)}, result.url + '\\n');
  return result;
}`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}

/** The file URLs of every ES module recorded in `logFile` and every CommonJS module required so far. */
export function recordedModules(logFile) {
  const esm = readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
  const cjs = Object.keys(createRequire(import.meta.url).cache).map((path) => `file://${path}`);
  return [...new Set([...esm, ...cjs])];
}
