import type { Command } from 'commander';
import { BackgroundTransferStatus } from '../../core/enums.ts';
import { Connection } from '../connection.ts';
import { type CliContext, cliAppId, writeLine } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { statusName } from '../format.ts';

interface ControlOptions {
  app?: string;
}

const APP_OPTION_HELP = 'the app the upload belongs to (default: $BGTRANSFER_APP_ID or bgtransfer-cli)';

const PAUSE_RESUME_HELP = {
  pause:
    'Beyond Windows (which cannot pause uploads, R62): the upload stops and stays pausedByApplication, across\nrestarts, until bgtransfer resume. With a resumable server it then continues from the acknowledged\noffset; otherwise it is sent again from byte 0 (R38).',
  resume: 'Queues a paused upload again (UploadOperation pause()/resume()).',
} as const;

/** `bgtransfer pause|resume GUID` (docs/api/cli.md). */
export function definePauseResumeCommand(command: Command, context: CliContext, verb: 'pause' | 'resume'): void {
  command
    .description(verb === 'pause' ? 'pause an upload (it stays paused across restarts)' : 'resume a paused upload')
    .argument('<guid>', 'the upload')
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
    .description('cancel an upload (the transfer itself, not only this observation)')
    .argument('<guid>', 'the upload')
    .option('--app <id>', APP_OPTION_HELP)
    .addHelpText('after', '\nExample:\n  $ bgtransfer cancel 6f1c2a34-…')
    .action(async (guid: string, options: ControlOptions) => {
      const port = await new Connection(context.env).port();
      const snapshot = await port.call('cancel', cliAppId(context, options.app), { guid });
      const status = snapshot.progress.status;
      if (status === BackgroundTransferStatus.canceled) writeLine(context.stdout, `canceled ${guid}`);
      else writeLine(context.stderr, `bgtransfer: upload ${guid} had already ended (${statusName(status)})`);
      context.exitCode = ExitCode.success;
    });
}
