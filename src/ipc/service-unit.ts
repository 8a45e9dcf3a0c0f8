import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TransferError } from '../core/errors.ts';
import { hostCommand } from './host-command.ts';
import { stopHost } from './host-control.ts';

/**
 * `bgtransfer host install-service` / `uninstall-service`: the transfer host as a systemd user service
 * (~/.config/systemd/user/bgtransfer.service), for users who want it started with their session rather
 * than on demand. Restart=on-failure: a crash is restarted, an idle exit (code 0) is not.
 */

export const SERVICE_NAME = 'bgtransfer.service';
const SYSTEMCTL_TIMEOUT_MS = 30_000;

/** `$XDG_CONFIG_HOME/systemd/user/bgtransfer.service` (default `~/.config/...`). */
export function serviceUnitPath(env: NodeJS.ProcessEnv): string {
  const configHome = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(configHome, 'systemd', 'user', SERVICE_NAME);
}

/** The unit text: absolute node and script paths, BGTRANSFER_HOME set, restarted when it crashes. */
export function renderServiceUnit(home: string, command = hostCommand()): string {
  const execStart = [command.node, ...command.args].map((word) => `"${escapeWord(word)}"`).join(' ');
  return [
    '[Unit]',
    'Description=bgtransfer transfer host (durable background uploads)',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${execStart}`,
    `Environment="${escapeValue(`BGTRANSFER_HOME=${home}`)}"`,
    'Restart=on-failure',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

export interface ServiceChange {
  unitPath: string;
  /** systemctl --user did it (false: it is not available here; `hint` says what to run). */
  applied: boolean;
  hint: string | null;
}

/** Writes the unit and, where `systemctl --user` works, enables and starts it (stopping a host started on demand). */
export async function installService(home: string, env: NodeJS.ProcessEnv): Promise<ServiceChange> {
  const unitPath = serviceUnitPath(env);
  mkdirSync(join(unitPath, '..'), { recursive: true });
  writeFileSync(unitPath, renderServiceUnit(home), { mode: 0o644 });
  if (!(await systemctlAvailable(env))) {
    return {
      unitPath,
      applied: false,
      hint: `systemctl --user is not available here; in a session with a systemd user manager run: systemctl --user daemon-reload && systemctl --user enable --now ${SERVICE_NAME}`,
    };
  }
  await systemctl(env, ['daemon-reload']);
  // A host started on demand holds the engine lock; the service's host would leave at once.
  await stopHost(home, { env });
  await systemctl(env, ['enable', '--now', SERVICE_NAME]);
  return { unitPath, applied: true, hint: null };
}

/** Disables and stops the service where systemctl works, and removes the unit file. */
export async function uninstallService(env: NodeJS.ProcessEnv): Promise<ServiceChange> {
  const unitPath = serviceUnitPath(env);
  const available = await systemctlAvailable(env);
  if (available) await systemctl(env, ['disable', '--now', SERVICE_NAME]).catch(() => undefined);
  rmSync(unitPath, { force: true });
  if (available) await systemctl(env, ['daemon-reload']);
  return {
    unitPath,
    applied: available,
    hint: available ? null : 'systemctl --user is not available here; the unit file was removed',
  };
}

async function systemctlAvailable(env: NodeJS.ProcessEnv): Promise<boolean> {
  try {
    await systemctl(env, ['show-environment']);
    return true;
  } catch {
    return false;
  }
}

function systemctl(env: NodeJS.ProcessEnv, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('systemctl', ['--user', ...args], { env, timeout: SYSTEMCTL_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (!error) {
        resolve();
        return;
      }
      const detail = String(stderr).trim() || error.message;
      reject(new TransferError('BT_ERR_IO', `systemctl --user ${args.join(' ')} failed: ${detail}`, { cause: error }));
    });
  });
}

/** A word of ExecStart= in double quotes: backslash and quote escaped, `%` and `$` doubled (no expansion). */
function escapeWord(word: string): string {
  return escapeValue(word).replaceAll('$', '$$$$');
}

/** An Environment= assignment in double quotes (`$` is not expanded there, `%` specifiers are). */
function escapeValue(value: string): string {
  if (/[\n\r]/.test(value)) {
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', 'a path with a line break cannot go into a systemd unit');
  }
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('%', '%%');
}
