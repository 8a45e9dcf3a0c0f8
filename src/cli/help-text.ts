import { DEFAULT_CONFIG } from '../core/config.ts';
import { CONFIG_RULES } from '../core/config-rules.ts';
import { CONFIG_KEYS, formatConfigValue } from './config-file.ts';

/** The environment variables bgtransfer reads, for `bgtransfer --help`. */
const ENVIRONMENT: ReadonlyArray<readonly [string, string]> = [
  [
    'BGTRANSFER_HOME',
    'where uploads and settings live (default: $XDG_STATE_HOME/bgtransfer, else ~/.local/state/bgtransfer)',
  ],
  [
    'BGTRANSFER_HOST',
    'auto (default): use the per-user transfer host, starting it when needed; inproc: run the engine inside this command (uploads stop when it exits)',
  ],
  ['BGTRANSFER_APP_ID', 'the app whose uploads the commands see (default: bgtransfer-cli)'],
  ['BGTRANSFER_LOG_LEVEL', 'pino level of the logs: the host’s host.log (default info) and stderr (default warn)'],
  ['BGTRANSFER_DEBUG', 'set: print the stack of an error as well'],
  ['HTTPS_PROXY, HTTP_PROXY', 'the proxy when the proxy setting is auto (also lower case)'],
  ['NO_PROXY', 'hosts reached without the proxy (comma-separated; * for all)'],
  ['XDG_STATE_HOME', 'the base of the default BGTRANSFER_HOME'],
  ['DBUS_SYSTEM_BUS_ADDRESS', 'the bus NetworkManager is asked on (metered, online)'],
  ['DBUS_SESSION_BUS_ADDRESS', 'the bus desktop notifications are sent on'],
];

/** Two columns, the second wrapped at spaces so that no line is wider than `columns`. */
const NO_BREAK = '\u00a0';

function table(rows: ReadonlyArray<readonly [string, string]>, columns: number): string {
  const indent = Math.max(...rows.map(([name]) => name.length)) + 4;
  const room = Math.max(30, columns - 1 - indent);
  const lines: string[] = [];
  for (const [name, text] of rows) {
    let line = '';
    const flush = (first: boolean): void => {
      lines.push(`${first ? `  ${name}`.padEnd(indent) : ' '.repeat(indent)}${line}`);
      line = '';
    };
    let first = true;
    for (const word of text.split(' ')) {
      if (line !== '' && line.length + 1 + word.length > room) {
        flush(first);
        first = false;
      }
      line = line === '' ? word : `${line} ${word}`;
    }
    flush(first);
  }
  // A no-break space keeps "Default: value" on one line; it is printed as a plain space.
  return lines.join('\n').replaceAll(NO_BREAK, ' ');
}

/**
 * The Environment and Settings sections of `bgtransfer --help`, fitted to `columns`. The settings come
 * from the config rules themselves (key, description, default), so a new key cannot be missing here.
 */
export function environmentAndSettingsHelp(columns: number): string {
  const settings = CONFIG_KEYS.map((key): [string, string] => [
    key,
    `${CONFIG_RULES[key].description} Default:${NO_BREAK}${formatConfigValue(DEFAULT_CONFIG[key])}.`,
  ]);
  return `Environment:
${table(ENVIRONMENT, columns)}

Settings ($BGTRANSFER_HOME/config.json, or: bgtransfer config KEY VALUE):
${table(settings, columns)}`;
}
