import { runCli } from '../../src/cli/run-cli.ts';

/**
 * Runs a command line through the command tree (commander) whatever it is: what src/cli/main.ts does
 * for a command line its lean paths do not read. test/integration/cli-lean-path.test.ts runs the same
 * command lines through main.ts and compares.
 *
 *   node --conditions=source --import tsx test/scripts/full-cli.ts ARGS…
 */

process.exitCode = await runCli(process.argv.slice(2));
