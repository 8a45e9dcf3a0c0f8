import type { Command } from 'commander';
import { BackgroundTransferStatus } from '../../core/enums.ts';
import { Connection } from '../connection.ts';
import { type CliContext, cliAppId, writeLine } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { statusName } from '../format.ts';
import { kindOf } from '../transfer-kind.ts';

interface ControlOptions {
  app?: string;
}

const APP_OPTION_HELP = 'the app the transfer belongs to (default: $BGTRANSFER_APP_ID or bgtransfer-cli)';

const PAUSE_RESUME_HELP = {
  pause:
    'The transfer stops and stays pausedByApplication, across restarts, until bgtransfer resume. A download\nthen continues with a range request where the server allows it (D28, D30). Pausing an upload goes\nbeyond Windows (R62): with a resumable server it continues from the acknowledged offset; otherwise it\nis sent again from byte 0 (R38).',
  resume: 'Queues a paused upload or download again (pause()/resume() of the operation).',
} as const;

/** `bgtransfer pause|resume GUID` (docs/api/cli.md). */
export function definePauseResumeCommand(command: Command, context: CliContext, verb: 'pause' | 'resume'): void {
  command
    .description(
      verb === 'pause'
        ? 'pause an upload or download (it stays paused across restarts)'
        : 'resume a paused upload or download',
    )
    .argument('<guid>', 'the upload or download')
    .option('--app <id>', APP_OPTION_HELP)
    .addHelpText('after', `\nExample:\n  $ bgtransfer ${verb} 6f1c2a34-…\n\n${PAUSE_RESUME_HELP[verb]}`)
    .action(async (guid: string, options: ControlOptions) => {
      const port = await new Connection(context.env).port();
      const appId = cliAppId(context, options.app);
      const snapshot =
        verb === 'pause' ? await port.call('pause', appId, { guid }) : await port.call('resume', appId, { guid });
      writeLine(context.stdout, `${verb}d ${guid} (${statusName(snapshot.progress.status)})`);
      context.exitCode = ExitCode.success;
    });
}

/** `bgtransfer cancel GUID` (R59, R60: cancels the transfer itself). */
export function defineCancelCommand(command: Command, context: CliContext): void {
  command
    .description('cancel an upload or download (the transfer itself, not only this observation)')
    .argument('<guid>', 'the upload or download')
    .option('--app <id>', APP_OPTION_HELP)
    .addHelpText('after', '\nExample:\n  $ bgtransfer cancel 6f1c2a34-…')
    .action(async (guid: string, options: ControlOptions) => {
      const port = await new Connection(context.env).port();
      const snapshot = await port.call('cancel', cliAppId(context, options.app), { guid });
      const status = snapshot.progress.status;
      if (status === BackgroundTransferStatus.canceled) writeLine(context.stdout, `canceled ${guid}`);
      else
        writeLine(context.stderr, `bgtransfer: ${kindOf(snapshot)} ${guid} had already ended (${statusName(status)})`);
      context.exitCode = ExitCode.success;
    });
}
