import { lstatSync, renameSync } from 'node:fs';
import { storeIdPath } from './store-identity.ts';

/**
 * `bgtransfer host reset-store`: the way out of BT_ERR_STORE_REPLACED when the old store cannot be
 * restored. Nothing is deleted: the database, its -wal and -shm files and its id are renamed with an
 * `.aside-<time>` suffix, so the next host starts with an empty store and the old files stay for a
 * later rescue. The caller makes sure no engine holds the store.
 */
export function setStoreAside(database: string, now: Date = new Date()): string[] {
  const suffix = `.aside-${now.toISOString().replaceAll(':', '-')}`;
  const moved: string[] = [];
  for (const path of [database, `${database}-wal`, `${database}-shm`, storeIdPath(database)]) {
    if (!exists(path)) continue;
    renameSync(path, `${path}${suffix}`);
    moved.push(`${path}${suffix}`);
  }
  return moved;
}

/** lstat: a link (even a dangling one) planted at a store path is moved aside too, never followed. */
function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
