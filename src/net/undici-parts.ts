import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, buildConnector as undiciBuildConnector } from 'undici';

/**
 * The two undici pieces bgtransfer uses, loaded from their own modules: `import 'undici'` also loads
 * fetch, WebSocket, EventSource and the caches, about 8 MB of resident memory an upload never uses
 * (a 2 GiB upload stays under 150 MB). undici 7 has no "exports" map, so these paths are
 * public files of the pinned version; the types still come from the package's own declarations.
 */
const require = createRequire(import.meta.url);

// `require` returns `any`; these are the classes/functions the undici typings describe.
export const Agent: typeof UndiciAgent = require('undici/lib/dispatcher/agent.js');
export const buildConnector: typeof undiciBuildConnector = require('undici/lib/core/connect.js');
