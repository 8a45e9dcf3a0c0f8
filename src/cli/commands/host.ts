import type { Command } from 'commander';
import { homeLayout } from '../../core/paths.ts';
import { type CliContext, cliAppId, cliHome, writeLine } from '../context.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { formatDuration } from '../format.ts';
import { type HostStatusInfo, loadHostControl, loadHostMain } from '../host-modules.ts';
import { defineServiceCommands } from './host-service.ts';

const EXAMPLES = `
Examples:
  $ bgtransfer host            # run the transfer host in the foreground (logs to stderr)
  $ bgtransfer host status     # exit code 3 when no host runs
  $ bgtransfer host stop
  $ bgtransfer host install-service   # a systemd user unit (enabled where systemctl --user works)
  $ bgtransfer host reset-store   # after BT_ERR_STORE_REPLACED: keep the old store aside, start empty

With BGTRANSFER_HOST=auto (the default) commands and apps start the host themselves, detached, when
it is not running; run it in the foreground only to watch its logs or under a service manager.`;

/** `bgtransfer host`, `host status`, `host stop`, `host install-service`, `host uninstall-service`. */
export function defineHostCommand(command: Command, context: CliContext): void {
  command
    .description('run the transfer host in the foreground, or show or stop the running one')
    .addHelpText('after', EXAMPLES)
    .action(async () => {
      const { runHost } = await loadHostMain();
      // runHost resolves with the host's exit code once it stops (SIGINT, SIGTERM or `host stop`);
      // anything but 0 means it could not open the engine or listen: exit 3.
      const code = await runHost({ home: cliHome(context), foreground: true, env: context.env });
      context.exitCode = code === 0 ? ExitCode.success : ExitCode.hostUnreachable;
    });

  command
    .command('status')
    .description('show the running host: pid, uptime, uploads (exit 3 if none runs)')
    .option('--app <id>', 'the app whose uploads to count (default: $BGTRANSFER_APP_ID or bgtransfer-cli)')
    .option('--json', 'print the status as one JSON object')
    .action(async (options: { app?: string; json?: boolean }) => {
      const home = cliHome(context);
      const { hostStatus } = await loadHostControl();
      const status = await hostStatus(home, { env: context.env, appId: cliAppId(context, options.app) });
      if (status === null) throw new CliError(ExitCode.hostUnreachable, `no transfer host is running for ${home}`);
      if (options.json) writeLine(context.stdout, JSON.stringify(status));
      else for (const line of describeStatus(status)) writeLine(context.stdout, line);
      context.exitCode = ExitCode.success;
    });

  command
    .command('reset-store')
    .description('move the store aside (it is kept, renamed) so the next host starts with an empty one')
    .action(async () => {
      const home = cliHome(context);
      const { liveLockOwner } = await import('../../core/home-lock.ts');
      const owner = liveLockOwner(home);
      if (owner !== undefined) {
        throw new CliError(ExitCode.hostUnreachable, `process ${owner} runs the engine for ${home}; stop it first`);
      }
      const { setStoreAside } = await import('../../store/store-reset.ts');
      const moved = setStoreAside(homeLayout(home).database);
      for (const path of moved) writeLine(context.stdout, `moved aside: ${path}`);
      if (moved.length === 0) writeLine(context.stderr, `bgtransfer: ${home} has no store to move aside`);
      context.exitCode = ExitCode.success;
    });

  command
    .command('stop')
    .description('stop the running host; uploads stay queued and go on at its next start')
    .action(async () => {
      const home = cliHome(context);
      const { stopHost } = await loadHostControl();
      const stopped = await stopHost(home, { env: context.env, appId: cliAppId(context) });
      writeLine(
        stopped ? context.stdout : context.stderr,
        stopped ? 'transfer host stopped' : 'bgtransfer: no transfer host was running',
      );
      context.exitCode = ExitCode.success;
    });

  defineServiceCommands(command, context);
}

/** The fields the host reports (ipc/protocol.ts HostStatus), readably; anything else as it came. */
function describeStatus(status: HostStatusInfo): string[] {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(status)) {
    if (name === 'uptimeMs' && typeof value === 'number') lines.push(`uptime: ${formatDuration(value / 1000)}`);
    else if (name === 'counts' && typeof value === 'object' && value !== null) {
      const counts = Object.entries(value).map(([status, count]) => `${status} ${String(count)}`);
      lines.push(
        `uploads${typeof status.appId === 'string' ? ` of ${status.appId}` : ''}: ${counts.join(', ') || 'none'}`,
      );
    } else
      lines.push(`${name}: ${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`);
  }
  return lines;
}
