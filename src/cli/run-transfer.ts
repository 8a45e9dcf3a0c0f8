import type { OperationSnapshot, OperationSpec } from '../core/snapshot.ts';
import { Connection } from './connection.ts';
import { type CliContext, isInproc, writeLine } from './context.ts';
import { ExitCode as Exit, type ExitCode } from './exit-codes.ts';
import { type FollowResult, followOperation } from './follow.ts';
import { progressJson } from './format.ts';
import { detachOnInterrupt } from './interrupt.ts';
import { reportOutcome } from './outcome.ts';
import { chooseViewMode, createProgressView } from './progress-view.ts';
import type { TransferKind } from './transfer-kind.ts';

/** What `upload` and `download` hand over once the command line became a spec. */
export interface TransferStart {
  kind: TransferKind;
  appId: string;
  spec: OperationSpec;
  /** What names the transfer in its bar or line: the local file's name. */
  label: string;
  /** The first line shown, from the stored operation (what goes where, its guid). */
  describe(started: OperationSnapshot): string;
  detach: boolean;
  json: boolean;
}

/**
 * The part of `upload` and `download` after the spec is built: store the operation through the port,
 * then either print its guid (`--detach`) or show its progress until it ends, Ctrl-C detaching; the
 * exit code says how it ended (docs/api/cli.md).
 */
export async function startAndFollow(context: CliContext, start: TransferStart): Promise<ExitCode> {
  const connection = new Connection(context.env);
  const port = await connection.port();
  // Once start() resolves the operation is persisted (R10): from here on it outlives this command.
  const started = await port.call('start', start.appId, { spec: start.spec });

  if (start.detach) {
    writeLine(context.stdout, start.json ? progressJson(started) : started.guid);
    if (isInproc(context)) {
      writeLine(
        context.stderr,
        `bgtransfer: note: with BGTRANSFER_HOST=inproc nothing runs the ${start.kind} after this command; it starts when bgtransfer next opens this BGTRANSFER_HOME`,
      );
    }
    return Exit.success;
  }

  const view = await createProgressView({
    mode: chooseViewMode(start.json, context.stdout),
    stdout: context.stdout,
    stderr: context.stderr,
    label: () => start.label,
  });
  connection.onNotice = (message) => view.note(message);
  view.note(`${start.describe(started)}; guid ${started.guid}${context.stdout.isTTY ? ' (Ctrl-C detaches)' : ''}`);
  let result: FollowResult;
  try {
    view.update(started);
    result = await detachOnInterrupt((signal) =>
      followOperation(connection, start.appId, started.guid, (snapshot) => view.update(snapshot), signal),
    );
  } finally {
    view.close();
  }
  if (result.kind === 'detached') {
    writeLine(context.stderr, detachedMessage(context, start.kind, started.guid));
    return Exit.success;
  }
  return reportOutcome(context, result.snapshot, start.json);
}

function detachedMessage(context: CliContext, kind: TransferKind, guid: string): string {
  if (isInproc(context)) {
    const after =
      kind === 'download'
        ? 'it resumes with a range request where the server allows one, D23'
        : 'a PUT restarts from byte 0, a POST fails: R12, R13';
    return `bgtransfer: detached. With BGTRANSFER_HOST=inproc the engine ran in this process, so ${kind} ${guid} stops now and goes on when bgtransfer next opens this BGTRANSFER_HOME (${after}).`;
  }
  return `bgtransfer: detached; ${kind} ${guid} goes on in the transfer host. Follow it with: bgtransfer watch ${guid}`;
}
