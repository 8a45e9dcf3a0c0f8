import { CommanderError } from 'commander';
import { closeAsync } from '../api/port-provider.ts';
import { type CliContext, createContext, writeLine } from './context.ts';
import { ExitCode as Exit, type ExitCode, exitCodeForError, formatErrorLine } from './exit-codes.ts';
import { createProgram } from './program.ts';

/**
 * Runs one `bgtransfer` command line and returns its exit code (docs/api/cli.md). Always closes the
 * connection to the engine, so the process can exit.
 */
export async function runCli(argv: readonly string[], context: CliContext = createContext()): Promise<ExitCode> {
  const program = createProgram(context);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end with code 0; every other commander exit is a usage error (already printed).
      return error.exitCode === 0 ? Exit.success : Exit.badInput;
    }
    writeLine(context.stderr, formatErrorLine(error));
    if (context.env.BGTRANSFER_DEBUG && error instanceof Error && error.stack) writeLine(context.stderr, error.stack);
    return exitCodeForError(error);
  } finally {
    await closeAsync().catch(() => undefined);
  }
}
