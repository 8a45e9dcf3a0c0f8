import { fileURLToPath } from 'node:url';
import { HOST_NODE_FLAGS } from './host-flags.ts';

/**
 * The command line of the transfer host process: this Node binary and the host entry script, from the
 * same place as this module (source under tsx, or dist). Used to spawn a host (host-launcher.ts) and
 * to write the systemd unit (service-unit.ts); absolute, so it works from any directory. The host runs
 * with HOST_NODE_FLAGS (host-flags.ts: a lighter V8 for a long-lived process).
 */
export function hostCommand(): { node: string; args: string[] } {
  if (import.meta.url.endsWith('.ts')) {
    const entry = fileURLToPath(new URL('./host-entry.ts', import.meta.url));
    // Resolved here, not by the host, so the host finds tsx whatever directory it runs in.
    return {
      node: process.execPath,
      args: [...HOST_NODE_FLAGS, '--conditions=source', '--import', import.meta.resolve('tsx'), entry],
    };
  }
  return {
    node: process.execPath,
    // `../ipc/` because the built module is either dist/ipc/host-command.js or a chunk of the bundle in
    // dist/chunks/ (scripts/bundle-dist.ts); both sit two levels below the package root.
    args: [...HOST_NODE_FLAGS, fileURLToPath(new URL('../ipc/host-entry.js', import.meta.url))],
  };
}
