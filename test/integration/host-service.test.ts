import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { hostStatus, stopHost } from '../../src/ipc/host-control.ts';
import { spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';

/**
 * `bgtransfer host install-service` / `uninstall-service` against Debian's systemd: the written unit
 * passes `systemd-analyze verify`, and its ExecStart, run as systemd would run it, starts a host for
 * the configured home. This machine (like CI) has no systemd user manager, so the command takes the
 * "not available" path: the real systemctl fails to reach a bus that does not exist.
 */

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

let temp: TempDir;
let home: string;
let env: Record<string, string>;

before(async () => {
  temp = await makeTempDir('bt-service-');
  // A space, a quote and a percent sign: the unit must quote and escape them.
  home = join(temp.path, 'state dir "q" 100%');
  env = {
    HOME: temp.path,
    XDG_CONFIG_HOME: join(temp.path, 'config'),
    XDG_RUNTIME_DIR: join(temp.path, 'no-runtime'),
    DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(temp.path, 'no-bus')}`,
    BGTRANSFER_HOME: home,
  };
});

after(async () => {
  await stopHost(home).catch(() => false);
  await temp.cleanup();
});

async function bgtransfer(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnNode([CLI, ...args], { env });
  const exit = await child.exited;
  return { code: exit.code, stdout: child.stdoutLines.join('\n'), stderr: child.stderrLines.join('\n') };
}

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** ExecStart's words, unquoted as systemd does for this unit's quoting (\\, \\", %%, $$). */
function execStartWords(unit: string): string[] {
  const line = unit.split('\n').find((text) => text.startsWith('ExecStart=')) ?? '';
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((match) =>
    (match[1] ?? '').replace(/\\(.)/g, '$1').replaceAll('%%', '%').replaceAll('$$', '$'),
  );
}

test('install-service writes a unit that systemd-analyze verifies and whose ExecStart runs the host; uninstall-service removes it', async () => {
  const unitPath = join(temp.path, 'config', 'systemd', 'user', 'bgtransfer.service');
  const installed = await bgtransfer(['host', 'install-service']);
  assert.equal(installed.code, 0, installed.stderr);
  assert.match(installed.stdout, new RegExp(`wrote ${unitPath.replaceAll('/', '\\/')}`));
  assert.match(
    installed.stdout,
    /systemctl --user is not available here.*systemctl --user enable --now bgtransfer\.service/,
  );

  const unit = readFileSync(unitPath, 'utf8');
  assert.match(unit, /^Restart=on-failure$/m);
  assert.match(unit, /^WantedBy=default\.target$/m);
  assert.ok(unit.includes('Environment="BGTRANSFER_HOME='), unit);
  const verify = await run('systemd-analyze', ['verify', unitPath]);
  assert.equal(verify.code, 0, `systemd-analyze verify: ${verify.output}`);

  const [node, ...args] = execStartWords(unit);
  assert.equal(node, process.execPath, 'ExecStart uses the absolute path of node');
  const environment = /^Environment="(.*)"$/m.exec(unit)?.[1]?.replace(/\\(.)/g, '$1').replaceAll('%%', '%');
  assert.equal(environment, `BGTRANSFER_HOME=${home}`);
  // As systemd would start it: from /, with the unit's environment and a minimal PATH.
  const host = spawn(node ?? '', args, {
    cwd: '/',
    env: { HOME: temp.path, PATH: '/usr/bin:/bin', BGTRANSFER_HOME: home },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => host.once('exit', resolve));
  try {
    let pid: number | undefined;
    const deadline = Date.now() + 30_000;
    while (pid === undefined && Date.now() < deadline) {
      pid = (await hostStatus(home, { env }).catch(() => null))?.pid;
      if (pid === undefined) await sleep(100);
    }
    assert.equal(pid, host.pid, 'the host started by ExecStart serves the home');
  } finally {
    await stopHost(home, { env });
    await exited;
  }

  const removed = await bgtransfer(['host', 'uninstall-service']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /removed .*bgtransfer\.service/);
  assert.equal(existsSync(unitPath), false);
});
