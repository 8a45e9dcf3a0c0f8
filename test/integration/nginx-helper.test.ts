import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { startNginx } from '../helpers/nginx.ts';

/**
 * The nginx helper is what later integration tests use as the "real server" PUT target, so it must
 * store a body byte for byte and leave no process behind (PID 1 here does not reap orphans).
 */

test('startNginx: a 5 MB PUT lands byte-identical under root, and stop() ends every nginx process', async () => {
  const nginx = await startNginx();
  let workers: number[] = [];
  try {
    const body = randomBytes(5 * 1024 * 1024);
    const status = await put(`${nginx.davUrl}x/y.bin`, body);
    assert.equal(status, 201);

    const stored = await readFile(join(nginx.root, 'x', 'y.bin'));
    assert.equal(stored.length, body.length);
    assert.equal(sha256(stored), sha256(body));

    workers = childPids(nginx.pid);
    assert.ok(workers.length > 0, 'nginx master should have at least one worker');
  } finally {
    await nginx.stop();
  }
  for (const pid of [nginx.pid, ...workers]) {
    assert.equal(isAlive(pid), false, `process ${pid} still exists after stop()`);
  }
});

function put(url: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Children of `pid`, from the PPid field of every /proc/<n>/status. */
function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (/^PPid:\s+(\d+)$/m.exec(status)?.[1] === String(parent)) pids.push(Number(entry));
    } catch {
      // the process ended while we were scanning
    }
  }
  return pids;
}

/** True also for a zombie, which would mean nobody waited for it. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
