import { fileURLToPath } from 'node:url';

/**
 * The command line of the transfer host process: this Node binary and the host entry script, from the
 * same place as this module (source under tsx, or dist). Used to spawn a host (host-launcher.ts) and
 * to write the systemd unit (service-unit.ts); absolute, so it works from any directory.
 */
export function hostCommand(): { node: string; args: string[] } {
  if (import.meta.url.endsWith('.ts')) {
    const entry = fileURLToPath(new URL('./host-entry.ts', import.meta.url));
    // Resolved here, not by the host, so the host finds tsx whatever directory it runs in.
    return { node: process.execPath, args: ['--conditions=source', '--import', import.meta.resolve('tsx'), entry] };
  }
  return { node: process.execPath, args: [fileURLToPath(new URL('./host-entry.js', import.meta.url))] };
}
