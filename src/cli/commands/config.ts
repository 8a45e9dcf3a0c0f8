import type { Command } from 'commander';
import { parseConfig } from '../../core/config.ts';
import { homeLayout } from '../../core/paths.ts';
import {
  assertConfigKey,
  CONFIG_KEYS,
  formatConfigValue,
  parseConfigValue,
  readConfigFile,
  writeConfigValue,
} from '../config-file.ts';
import { type CliContext, cliHome, writeLine } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';

const EXAMPLES = `
Examples:
  $ bgtransfer config                          # every setting; "(default)" when config.json does not set it
  $ bgtransfer config maxAttempts              # one setting
  $ bgtransfer config maxAttempts 5            # set one (validated; a running host picks it up)
  $ bgtransfer config metered no
  $ bgtransfer config extraCaCertificates /etc/ssl/my-ca.pem,/etc/ssl/other.pem

Keys: ${CONFIG_KEYS.join(', ')}.
The file is $BGTRANSFER_HOME/config.json. An unknown key or a bad value is exit code 2.`;

/** `bgtransfer config [KEY [VALUE]]` (docs/api/config.md, docs/api/cli.md). */
export function defineConfigCommand(command: Command, context: CliContext): void {
  command
    .description('print all settings, print one, or set one')
    .argument('[key]', 'a setting')
    .argument('[value]', 'its new value')
    .option('--json', 'print the settings as one JSON object')
    .addHelpText('after', EXAMPLES)
    .action((key: string | undefined, value: string | undefined, options: { json?: boolean }) => {
      const path = homeLayout(cliHome(context)).config;
      if (key === undefined) {
        const set = readConfigFile(path);
        const effective = parseConfig(set);
        if (options.json) writeLine(context.stdout, JSON.stringify(effective));
        else {
          for (const name of CONFIG_KEYS) {
            const suffix = Object.hasOwn(set, name) ? '' : '  (default)';
            writeLine(context.stdout, `${name} = ${formatConfigValue(effective[name])}${suffix}`);
          }
        }
      } else if (value === undefined) {
        const name = assertConfigKey(key);
        const effective = parseConfig(readConfigFile(path));
        writeLine(context.stdout, options.json ? JSON.stringify(effective[name]) : formatConfigValue(effective[name]));
      } else {
        const name = assertConfigKey(key);
        const effective = writeConfigValue(path, name, parseConfigValue(name, value));
        writeLine(context.stderr, `bgtransfer: ${name} = ${formatConfigValue(effective[name])} (written to ${path})`);
      }
      context.exitCode = ExitCode.success;
    });
}
