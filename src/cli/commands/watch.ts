import type { Command } from 'commander';
import { isTerminalStatus } from '../../core/enums.ts';
import type { OperationSnapshot } from '../../core/snapshot.ts';
import { Connection } from '../connection.ts';
import { type CliContext, cliAppId, writeLine } from '../context.ts';
import { ExitCode as Exit, type ExitCode } from '../exit-codes.ts';
import { type FollowResult, followOperation } from '../follow.ts';
import { detachOnInterrupt } from '../interrupt.ts';
import { reportOutcome, watchLabel } from '../outcome.ts';
import { chooseViewMode, createProgressView } from '../progress-view.ts';

interface WatchOptions {
  app?: string;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  $ bgtransfer watch                 # every upload and download of this app that has not ended yet
  $ bgtransfer watch 6f1c2a34-…      # one transfer, until it ends
  $ bgtransfer watch --json | jq -c .

A download's label shows ↓ before its file. Ctrl-C stops watching; the transfers go on. Exit code 0
when every watched transfer completed with a 2xx answer, 1 when one failed or was canceled.`;

/** `bgtransfer watch [GUID]` (docs/api/cli.md): follow one or all live uploads and downloads until they end. */
export function defineWatchCommand(command: Command, context: CliContext): void {
  command
    .description('follow one transfer, or every live upload and download of the app, until it ends')
    .argument('[guid]', 'the upload or download to follow (default: all that have not ended)')
    .option('--app <id>', 'the app whose transfers to follow (default: $BGTRANSFER_APP_ID or bgtransfer-cli)')
    .option('--json', 'one JSON object per line: progress fields plus guid')
    .addHelpText('after', EXAMPLES)
    .action(async (guid: string | undefined, options: WatchOptions) => {
      context.exitCode = await runWatch(context, guid, options);
    });
}

async function runWatch(context: CliContext, guid: string | undefined, options: WatchOptions): Promise<ExitCode> {
  const appId = cliAppId(context, options.app);
  const json = options.json ?? false;
  const connection = new Connection(context.env);
  const port = await connection.port();
  const initial: OperationSnapshot[] =
    guid === undefined
      ? (await port.call('list', appId, { filter: { kind: 'all' } })).filter(
          (snapshot) => !isTerminalStatus(snapshot.progress.status),
        )
      : [await port.call('get', appId, { guid })];
  if (initial.length === 0) {
    writeLine(context.stderr, `bgtransfer: no uploads or downloads in progress for app ${appId}`);
    return Exit.success;
  }

  const view = await createProgressView({
    mode: chooseViewMode(json, context.stdout),
    stdout: context.stdout,
    stderr: context.stderr,
    label: watchLabel,
  });
  connection.onNotice = (message) => view.note(message);
  let results: FollowResult[];
  try {
    for (const snapshot of initial) view.update(snapshot);
    results = await detachOnInterrupt((signal) =>
      Promise.all(
        initial.map((snapshot) =>
          isTerminalStatus(snapshot.progress.status)
            ? Promise.resolve<FollowResult>({ kind: 'ended', snapshot })
            : followOperation(connection, appId, snapshot.guid, (next) => view.update(next), signal),
        ),
      ),
    );
  } finally {
    view.close();
  }

  let exitCode: ExitCode = Exit.success;
  for (const result of results) {
    if (result.kind === 'detached') continue;
    const code = reportOutcome(context, result.snapshot, json);
    if (code !== Exit.success) exitCode = code;
  }
  if (results.some((result) => result.kind === 'detached')) {
    writeLine(context.stderr, 'bgtransfer: stopped watching; the transfers go on');
  }
  return exitCode;
}
