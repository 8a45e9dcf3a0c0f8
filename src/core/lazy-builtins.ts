/**
 * Node built-in modules that `import('bgtransfer')` should not load. The first import of a built-in
 * compiles it and its internal modules (node:crypto brings 42, node:v8 35, node:stream 24,
 * node:fs/promises 17), about a quarter of the package's import cost; the app-side classes need them only
 * when a call uses them. `process.getBuiltinModule` (Node ≥ 20.16) returns the same module object
 * an import would, loaded at the first call and cached by Node after it.
 */

export function nodeCrypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto');
}

export function nodeFsPromises(): typeof import('node:fs/promises') {
  return process.getBuiltinModule('node:fs/promises');
}

export function nodeStream(): typeof import('node:stream') {
  return process.getBuiltinModule('node:stream');
}

export function nodeStreamPromises(): typeof import('node:stream/promises') {
  return process.getBuiltinModule('node:stream/promises');
}

export function nodeTimersPromises(): typeof import('node:timers/promises') {
  return process.getBuiltinModule('node:timers/promises');
}

export function nodeV8(): typeof import('node:v8') {
  return process.getBuiltinModule('node:v8');
}

export function nodeOs(): typeof import('node:os') {
  return process.getBuiltinModule('node:os');
}

/**
 * node:fs itself is loaded when Node starts, but not its ES module facade: an `import` of it reads
 * every export, and the getters `fs.promises` and `fs.ReadStream` load Node's streams (19 internal
 * modules) that `import('bgtransfer')` does not need. The object from here has no facade, so a module
 * may take its functions at load.
 */
export function nodeFs(): typeof import('node:fs') {
  return process.getBuiltinModule('node:fs');
}
