import type { Command } from 'commander';
import { type CliContext, cliHome, writeLine } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { loadHostService } from '../host-modules.ts';

/** `bgtransfer host install-service` and `host uninstall-service`: the host as a systemd user service. */
export function defineServiceCommands(command: Command, context: CliContext): void {
  command
    .command('install-service')
    .description('write (and with systemctl --user, enable and start) a systemd user unit for the host')
    .action(async () => {
      const { installService } = await loadHostService();
      const result = await installService(cliHome(context), context.env);
      writeLine(context.stdout, `wrote ${result.unitPath}`);
      writeLine(context.stdout, result.applied ? 'enabled and started bgtransfer.service' : (result.hint ?? ''));
      context.exitCode = ExitCode.success;
    });

  command
    .command('uninstall-service')
    .description('disable and remove the systemd user unit of the host')
    .action(async () => {
      const { uninstallService } = await loadHostService();
      const result = await uninstallService(context.env);
      writeLine(context.stdout, `removed ${result.unitPath}`);
      if (result.applied) writeLine(context.stdout, 'disabled and stopped bgtransfer.service');
      else if (result.hint) writeLine(context.stdout, result.hint);
      context.exitCode = ExitCode.success;
    });
}
