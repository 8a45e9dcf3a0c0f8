import type { ExitCode } from './exit-codes.ts';
import { type ListOptions, runList } from './list-output.ts';
import { runAlone } from './run-alone.ts';

/**
 * `bgtransfer list` in its plain forms (`--json`, `--app <id>`), run without the command tree: commander
 * and every other command's modules are a good part of a list's start-up, and scripts run `list --json`
 * often. Anything else (`--help`, an unknown option, a missing value) is left to the full parser, which
 * answers it as for every command. The command itself is list-output.ts, shared with commands/list.ts.
 */

/** The options of a plain list command line, or undefined when the command tree must parse it. */
export function plainListOptions(argv: readonly string[]): ListOptions | undefined {
  if (argv[0] !== 'list') return undefined;
  const options: ListOptions = {};
  for (let index = 1; index < argv.length; index++) {
    const arg = argv[index];
    if (arg === '--json' && options.json === undefined) {
      options.json = true;
    } else if (arg === '--app' && options.app === undefined) {
      const value = argv[++index];
      if (value === undefined || value.startsWith('-')) return undefined;
      options.app = value;
    } else {
      return undefined;
    }
  }
  return options;
}

/** Runs it as run-cli.ts runs a command (run-alone.ts). */
export function runListAlone(options: ListOptions): Promise<ExitCode> {
  return runAlone((context) => runList(context, options));
}
