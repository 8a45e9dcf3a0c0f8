import { basename } from 'node:path';
import { BackgroundTransferStatus } from '../core/enums.ts';
import { redactUrl } from '../core/redact.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import { type CliContext, writeLine } from './context.ts';
import { ExitCode, formatMessageLine } from './exit-codes.ts';
import { formatBytes, shortGuid, statusName } from './format.ts';
import { amountOf, kindOf, localFileOf } from './transfer-kind.ts';

export interface Outcome {
  exitCode: ExitCode;
  /** For stdout on success, for stderr (as `bgtransfer: <message> (<code>)`) otherwise. */
  message: string;
  code: string | null;
}

/**
 * What an ended operation means for the exit code (docs/api/cli.md): 0 only for `completed` with a
 * 2xx answer; a failure or a cancel is 1.
 */
export function outcomeOf(snapshot: OperationSnapshot): Outcome {
  const { progress, response, error } = snapshot;
  const kind = kindOf(snapshot);
  const name = `${kind} ${snapshot.guid}`;
  if (progress.status === BackgroundTransferStatus.completed) {
    const statusCode = response?.statusCode ?? 0;
    // FTP has no response (R43 does not apply): its completion is the whole file stored or received.
    if (response === null || (statusCode >= 200 && statusCode < 300)) {
      const bytes = formatBytes(amountOf(snapshot).done);
      const uri = redactUrl(snapshot.requestedUri);
      const file = localFileOf(snapshot);
      const answer = response === null ? '' : `, HTTP ${statusCode}`;
      return {
        exitCode: ExitCode.success,
        message:
          kind === 'download'
            ? `completed: ${bytes} received from ${uri}${file === null ? '' : ` into ${file}`}${answer}`
            : `completed: ${bytes} sent to ${uri}${answer}`,
        code: null,
      };
    }
    return { exitCode: ExitCode.transferFailed, message: `${name} ended with HTTP ${statusCode}`, code: null };
  }
  if (progress.status === BackgroundTransferStatus.canceled) {
    return { exitCode: ExitCode.transferFailed, message: `${name} was canceled`, code: 'BT_ERR_CANCELED' };
  }
  return {
    exitCode: ExitCode.transferFailed,
    message: error ? `${name} failed: ${error.message}` : `${name} failed (${statusName(progress.status)})`,
    code: error?.code ?? null,
  };
}

/** The label of a transfer in `watch`: short guid, an arrow for a download, and the local file name. */
export function watchLabel(snapshot: OperationSnapshot): string {
  const path = localFileOf(snapshot);
  const file = path === null ? 'stream' : basename(path);
  return `${shortGuid(snapshot.guid)} ${kindOf(snapshot) === 'download' ? '↓ ' : ''}${file}`;
}

/** Prints how a transfer ended (success on stdout unless --json, failure on stderr); returns its exit code. */
export function reportOutcome(context: CliContext, snapshot: OperationSnapshot, json: boolean): ExitCode {
  const outcome = outcomeOf(snapshot);
  if (outcome.exitCode === ExitCode.success) {
    if (!json) writeLine(context.stdout, outcome.message);
  } else {
    writeLine(context.stderr, formatMessageLine(outcome.message, outcome.code));
  }
  return outcome.exitCode;
}
