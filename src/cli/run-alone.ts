import { closeAsync } from '../api/port-provider.ts';
import { type CliContext, createContext, writeLine } from './context.ts';
import { type ExitCode, exitCodeForError, formatErrorLine } from './exit-codes.ts';

/**
 * Runs one command outside the command tree (the lean paths: list-alone.ts, transfer-alone.ts) as
 * run-cli.ts runs a command inside it: a thrown error is one line with its exit code, and the
 * connection to the engine is closed, so the process can exit.
 */
export async function runAlone(command: (context: CliContext) => Promise<void>): Promise<ExitCode> {
  const context = createContext();
  try {
    await command(context);
    return context.exitCode;
  } catch (error) {
    writeLine(context.stderr, formatErrorLine(error));
    if (context.env.BGTRANSFER_DEBUG && error instanceof Error && error.stack) writeLine(context.stderr, error.stack);
    return exitCodeForError(error);
  } finally {
    await closeAsync().catch(() => undefined);
  }
}
