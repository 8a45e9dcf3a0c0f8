import { Command } from 'commander';
import { redactText } from '../core/redact.ts';
import { defineConfigCommand } from './commands/config.ts';
import { defineCancelCommand, definePauseResumeCommand } from './commands/control.ts';
import { defineDownloadCommand } from './commands/download.ts';
import { defineHostCommand } from './commands/host.ts';
import { defineListCommand } from './commands/list.ts';
import { defineResponseCommand } from './commands/response.ts';
import { defineUploadCommand } from './commands/upload.ts';
import { defineWatchCommand } from './commands/watch.ts';
import type { CliContext } from './context.ts';
import { environmentAndSettingsHelp } from './help-text.ts';
import { packageVersion } from './package-version.ts';

function programHelp(columns: number): string {
  return `
Examples:
  $ bgtransfer upload photo.jpg https://example.com/upload            # POST, with a progress bar
  $ bgtransfer upload disk.img https://example.com/img --method PUT --detach
  $ bgtransfer download https://example.com/big.iso big.iso         # GET into big.iso, resumable
  $ bgtransfer list
  $ bgtransfer watch
  $ bgtransfer response <guid> --body
  $ bgtransfer config maxAttempts 5

${environmentAndSettingsHelp(columns)}

Exit codes:
  0  success (for upload/download/watch: completed with a 2xx answer)
  1  the transfer failed or was canceled
  2  bad usage or bad input
  3  the transfer host could not be reached or started

Errors are printed as "bgtransfer: <message> (<code>)"; docs/errors.md lists every code.`;
}

/** The `bgtransfer` command tree (docs/api/cli.md). Actions set `context.exitCode`. */
export function createProgram(context: CliContext): Command {
  const program = new Command('bgtransfer')
    .description('Durable background uploads and downloads: queue, follow and control transfers that survive restarts.')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      // Usage errors may echo an argument, which may be a URL with a password in it.
      writeErr: (text) => context.stderr.write(redactText(text)),
      // Usage errors in the one error shape: `bgtransfer: <message> (<code>)`.
      outputError: (text, write) =>
        write(`bgtransfer: ${text.replace(/^error: /, '').trimEnd()} (BT_ERR_INVALID_ARGUMENT)\n`),
    })
    .exitOverride()
    .addHelpText('after', programHelp(context.stdout.columns ?? 80));

  // program.command() (not addCommand) so that every command inherits exitOverride and the output setup.
  defineUploadCommand(program.command('upload'), context);
  defineDownloadCommand(program.command('download'), context);
  defineListCommand(program.command('list'), context);
  defineWatchCommand(program.command('watch'), context);
  definePauseResumeCommand(program.command('pause'), context, 'pause');
  definePauseResumeCommand(program.command('resume'), context, 'resume');
  defineCancelCommand(program.command('cancel'), context);
  defineResponseCommand(program.command('response'), context);
  defineHostCommand(program.command('host'), context);
  defineConfigCommand(program.command('config'), context);
  return program;
}
