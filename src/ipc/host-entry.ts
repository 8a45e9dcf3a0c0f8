import { applyHostFlags } from './host-flags.ts';

// Before the host's modules load (they are imported below, not statically, for that): a host started
// without the launcher's flags gets their run-time equivalents.
applyHostFlags();
const { resolveHome } = await import('../core/paths.ts');
const { runHost } = await import('./host-process.ts');

/**
 * The transfer host process that ipc/host-launcher.ts spawns detached. Its home comes
 * from BGTRANSFER_HOME, which the launcher always sets; `--foreground` also logs to stderr.
 */
const code = await runHost({ home: resolveHome(process.env), foreground: process.argv.includes('--foreground') });
// Exit explicitly: a library handle left open (e.g. a keep-alive socket) must not keep a stopped host alive.
process.exit(code);
