import { type RunHostOptions, runHost as runHostLifecycle } from '../host/host-main.ts';
import { hostFlagsInForce } from './host-flags.ts';
import { HostServer } from './host-server.ts';

/**
 * The transfer host process: the host's lifecycle (host/host-main.ts) serving its socket with this
 * layer's server. What `bgtransfer host` and the detached host process (host-entry.ts) run.
 */
export function runHost(options: Omit<RunHostOptions, 'serve' | 'v8Flags'>): Promise<number> {
  return runHostLifecycle({
    ...options,
    v8Flags: hostFlagsInForce(),
    serve: (serveOptions) => HostServer.listen(serveOptions),
  });
}
