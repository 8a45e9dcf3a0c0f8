#!/usr/bin/env node
import { packageVersion } from './package-version.ts';

/**
 * The `bgtransfer` command: `node dist/cli/main.js` after a build (package.json "bin"), or
 * `node --conditions=source --import tsx src/cli/main.ts` from source.
 */
// A reader that goes away (`bgtransfer list | head -1`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const argv = process.argv.slice(2);
// `bgtransfer --version` answers before the command tree (commander, the API, the socket client) is
// loaded: it is what scripts run to check the tool is there, and it should cost little more than Node.
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${packageVersion()}\n`);
} else {
  // `bgtransfer host` runs the transfer host in this process: its V8 flags are set before the command
  // tree and the host's modules load (the launcher passes them on the command line instead).
  if (argv.length === 1 && argv[0] === 'host') (await import('../ipc/host-flags.ts')).applyHostFlags();
  const exitCode = await runCommand(argv);
  process.exitCode = exitCode;
  // The engine connection is closed by now; a handle something else left open must not keep a finished
  // command alive, so exit shortly after stdout has drained.
  setTimeout(() => process.exit(exitCode), 1_000).unref();
}

/**
 * A plain `upload`/`download` (transfer-argv.ts, transfer-alone.ts) and a plain `list [--json] [--app
 * <id>]` (list-alone.ts) skip the command tree; everything else goes through it (run-cli.ts).
 */
async function runCommand(args: readonly string[]): Promise<number> {
  const { plainTransfer } = await import('./transfer-argv.ts');
  const transfer = plainTransfer(args);
  if (transfer !== undefined) return (await import('./transfer-alone.ts')).runTransferAlone(transfer);
  const { plainListOptions, runListAlone } = await import('./list-alone.ts');
  const listOptions = plainListOptions(args);
  return listOptions === undefined ? (await import('./run-cli.ts')).runCli(args) : runListAlone(listOptions);
}
