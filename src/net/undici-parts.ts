import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, buildConnector as undiciBuildConnector } from 'undici';
import { compileLiftoffOnly, type WebAssemblyModule } from '../core/liftoff-only.ts';

/**
 * The two undici pieces bgtransfer uses, loaded from their own modules: `import 'undici'` also loads
 * fetch, WebSocket, EventSource and the caches, about 8 MB of resident memory an upload never uses
 * (a 2 GiB upload stays under 150 MB). undici 7 has no "exports" map, so these paths are
 * public files of the pinned version; the types still come from the package's own declarations.
 *
 * Loaded at the first transfer, not at import: the Agent brings undici's HTTP parser (compiled
 * WebAssembly), about 11 MB of a transfer host's resident memory, which an idle host never needs.
 */
const require = createRequire(import.meta.url);

interface Parts {
  /** Held for the life of the process: while it lives, undici's compile of the same bytes gets it. */
  parser: WebAssemblyModule | undefined;
  Agent: typeof UndiciAgent;
  buildConnector: typeof undiciBuildConnector;
}
let parts: Parts | undefined;

function load(): Parts {
  // `require` returns `any`; these are the classes/functions the undici typings describe.
  parts ??= {
    parser: compileParser(),
    Agent: require('undici/lib/dispatcher/agent.js'),
    buildConnector: require('undici/lib/core/connect.js'),
  };
  return parts;
}

export function newAgent(options: UndiciAgent.Options): UndiciAgent {
  return new (load().Agent)(options);
}

export const buildConnector: typeof undiciBuildConnector = (options) => load().buildConnector(options);

/**
 * undici's HTTP parser, compiled on Liftoff only (core/liftoff-only.ts) before undici compiles it at its
 * first connection: in an app's process (in-process engine) no process-wide flag may be set, and
 * without this V8 recompiles the parser's hot functions, 25–30 MiB more at the peak of a big upload.
 * The bytes are the ones undici 7's client-h1.js chooses: SIMD unless UNDICI_NO_WASM_SIMD=1 (or an old
 * Node on ppc64, where undici skips it), the plain build when SIMD does not compile.
 */
function compileParser(): WebAssemblyModule | undefined {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const simdBroken = process.arch === 'ppc64' && (major < 24 || (major === 24 && minor < 12));
  const simd = process.env.UNDICI_NO_WASM_SIMD === '1' ? false : process.env.UNDICI_NO_WASM_SIMD === '0' || !simdBroken;
  if (simd) {
    try {
      return compileLiftoffOnly(require('undici/lib/llhttp/llhttp_simd-wasm.js'));
    } catch {
      // As undici does: a Node without WebAssembly SIMD gets the plain build.
    }
  }
  try {
    return compileLiftoffOnly(require('undici/lib/llhttp/llhttp-wasm.js'));
  } catch {
    // undici's own compile reports what is wrong, at the connection that needs the parser.
    return undefined;
  }
}
