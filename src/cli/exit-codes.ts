import { TransferError } from '../core/errors.ts';

/** The exit codes of `bgtransfer` (docs/api/cli.md). */
export const ExitCode = Object.freeze({
  /** The command did what it was asked; for `upload`/`watch`: every upload completed with a 2xx answer. */
  success: 0,
  /** A transfer failed or was canceled. */
  transferFailed: 1,
  /** Bad usage or bad input (a usage error, a bad header, a missing file, an unknown guid or config key). */
  badInput: 2,
  /** The transfer host could not be reached or started. */
  hostUnreachable: 3,
} as const);
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Codes that mean the caller's input was wrong (exit 2). Everything the API's validation rejects is here
 * (docs/errors.md), plus an unknown guid (BT_ERR_NOT_FOUND) and a state the command does not apply to.
 */
const INPUT_CODES: ReadonlySet<string> = new Set([
  'BT_ERR_INVALID_ARGUMENT',
  'BT_ERR_INVALID_URI',
  'BT_ERR_UNSUPPORTED_SCHEME',
  'BT_ERR_INVALID_HEADER',
  'BT_ERR_INVALID_METHOD',
  'BT_ERR_FILE_NOT_FOUND',
  'BT_ERR_NOT_A_FILE',
  'BT_ERR_FILE_UNREADABLE',
  'BT_ERR_NOT_FOUND',
  'BT_ERR_ILLEGAL_STATE',
  'BT_ERR_CONFIG_INVALID',
]);

/**
 * Codes that mean the engine could not be reached (exit 3): the host could not be reached or started, or
 * spoke another protocol version, and an engine home that another live process holds (docs/errors.md).
 */
const HOST_CODES: ReadonlySet<string> = new Set([
  'BT_ERR_HOST_UNREACHABLE',
  'BT_ERR_IPC_PROTOCOL',
  'BT_ERR_HOME_IN_USE',
  // The host refused to start: its home or store needs the user's attention.
  'BT_ERR_HOME_UNSAFE',
  'BT_ERR_STORE_REPLACED',
]);

/**
 * An error the CLI reports and exits with. `code` is a stable BT_ERR_* string when there is one (printed
 * as `bgtransfer: <message> (<code>)`), or null for messages that have no code.
 */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly code: string | null;

  constructor(exitCode: ExitCode, message: string, code: string | null = null, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.code = code;
  }
}

/** The exit code for an error thrown before or outside a transfer (a failed transfer is always 1). */
export function exitCodeForError(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  const code = errorCode(error);
  if (code !== null && HOST_CODES.has(code)) return ExitCode.hostUnreachable;
  if (code !== null && INPUT_CODES.has(code)) return ExitCode.badInput;
  return ExitCode.transferFailed;
}

/** The BT_ERR_* code of anything thrown; codes survive IPC where `instanceof` does not (docs/errors.md). */
export function errorCode(error: unknown): string | null {
  if (error instanceof CliError || error instanceof TransferError) return error.code;
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code: unknown = error.code;
    if (typeof code === 'string' && code.startsWith('BT_ERR_')) return code;
  }
  return null;
}

/** `bgtransfer: <message> (<code>)`, the one shape of every error line. */
export function formatErrorLine(error: unknown): string {
  return formatMessageLine(error instanceof Error ? error.message : String(error), errorCode(error));
}

export function formatMessageLine(message: string, code: string | null): string {
  return `bgtransfer: ${message}${code === null ? '' : ` (${code})`}`;
}
