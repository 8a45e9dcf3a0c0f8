import { resolveHome } from '../core/paths.ts';
import { redactText } from '../core/redact.ts';
import { ExitCode as Exit, type ExitCode } from './exit-codes.ts';

/** The app id of the CLI's own uploads when BGTRANSFER_APP_ID is not set. */
export const DEFAULT_CLI_APP_ID = 'bgtransfer-cli';

/** What every command runs with: the environment, the two output streams, and the exit code so far. */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  /** The exit code a command's action sets; thrown errors map to theirs in run-cli.ts. */
  exitCode: ExitCode;
}

export function createContext(
  env: NodeJS.ProcessEnv = process.env,
  stdout: NodeJS.WriteStream = process.stdout,
  stderr: NodeJS.WriteStream = process.stderr,
): CliContext {
  return { env, stdout, stderr, exitCode: Exit.success };
}

/**
 * Whose operations a command sees (docs/architecture.md: transfers belong to an app): `--app`, else
 * BGTRANSFER_APP_ID, else the CLI's own id — not the package name the library would derive.
 */
export function cliAppId(context: CliContext, appOption?: string): string {
  return appOption || context.env.BGTRANSFER_APP_ID || DEFAULT_CLI_APP_ID;
}

export function cliHome(context: CliContext): string {
  return resolveHome(context.env);
}

/** Whether the engine runs inside this process (BGTRANSFER_HOST=inproc, docs/api/environment.md). */
export function isInproc(context: CliContext): boolean {
  return context.env.BGTRANSFER_HOST === 'inproc';
}

/**
 * Every line the CLI prints (tables, --json, messages, errors) goes through here, so it is redacted here:
 * a URL's userinfo, signed query values and credential headers never reach a terminal or a script's
 * log, even from an error message stored by an older version.
 */
export function writeLine(stream: NodeJS.WritableStream, text: string): void {
  stream.write(`${redactText(text)}\n`);
}
