import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, buildConnector as undiciBuildConnector } from 'undici';

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
  Agent: typeof UndiciAgent;
  buildConnector: typeof undiciBuildConnector;
}
let parts: Parts | undefined;

function load(): Parts {
  // `require` returns `any`; these are the classes/functions the undici typings describe.
  parts ??= {
    Agent: require('undici/lib/dispatcher/agent.js'),
    buildConnector: require('undici/lib/core/connect.js'),
  };
  return parts;
}

export function newAgent(options: UndiciAgent.Options): UndiciAgent {
  return new (load().Agent)(options);
}

export const buildConnector: typeof undiciBuildConnector = (options) => load().buildConnector(options);
