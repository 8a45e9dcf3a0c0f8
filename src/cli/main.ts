#!/usr/bin/env node
import { runCli } from './run-cli.ts';

/**
 * The `bgtransfer` command (docs/api/cli.md): `node dist/cli/main.js` after a build (package.json
 * "bin"), or `node --conditions=source --import tsx src/cli/main.ts` from source.
 */
// A reader that goes away (`bgtransfer list | head -1`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const exitCode = await runCli(process.argv.slice(2));
process.exitCode = exitCode;
// The engine connection is closed by now; a handle something else left open must not keep a finished
// command alive, so exit shortly after stdout has drained.
setTimeout(() => process.exit(exitCode), 1_000).unref();
