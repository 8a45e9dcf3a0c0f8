import { readFileSync } from 'node:fs';
import { homeLayout } from '../core/paths.ts';
import { readPidFile } from '../core/safe-read.ts';

/**
 * kill(pid, 0) succeeds for a zombie, and a host whose parent app exited stays a zombie where PID 1
 * does not reap orphans (containers, CI): /proc tells the two apart on Linux.
 */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ..." — comm may contain spaces and parentheses, so read after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The pid in `engine.lock` if that process is running (a zombie is not: it holds nothing any more). */
export function liveLockOwner(home: string): number | undefined {
  const pid = readPidFile(homeLayout(home).lock);
  return pid !== undefined && isProcessRunning(pid) ? pid : undefined;
}
