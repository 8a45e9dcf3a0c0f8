import { resolveHome } from '../core/paths.ts';
import { runHost } from './host-process.ts';

/**
 * The transfer host process that ipc/host-launcher.ts spawns detached. Its home comes
 * from BGTRANSFER_HOME, which the launcher always sets; `--foreground` also logs to stderr.
 */
const code = await runHost({ home: resolveHome(process.env), foreground: process.argv.includes('--foreground') });
// Exit explicitly: a library handle left open (e.g. a keep-alive socket) must not keep a stopped host alive.
process.exit(code);
