import { unwatchFile, watchFile } from 'node:fs';
import { loadConfig } from '../core/config.ts';
import { isTerminalStatus } from '../core/enums.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { homeLayout } from '../core/paths.ts';
import { Engine } from '../engine/engine.ts';
import { startNetworkMonitor } from '../net/network-monitor.ts';
import { SqliteOperationStore } from '../store/sqlite-store.ts';
import { CompletionTasks } from './completion-tasks.ts';
import { TransferService } from './transfer-service.ts';
import { UploadNotifications } from './upload-notifications.ts';

/** How often config.json is checked for changes (a running host applies them: docs/api/config.md). */
const CONFIG_POLL_MS = 1_000;

/**
 * Builds the engine on its embedded defaults — SQLite store, config.json, the NetworkManager monitor
 * (R50, R53) — plus the host services beside it: completion-group tasks (R78–R83), desktop
 * notifications (R74–R76) and live config reload.
 */
export async function openTransferService(
  home: string,
  env: NodeJS.ProcessEnv = process.env,
  /** The host passes its own (host.log, rotated); in-process the library's logger (stderr) is used. */
  log?: Logger,
  /**
   * The host batches each event-loop turn's store writes into one commit and holds its replies until
   * then (SqliteStoreOptions.groupCommit); onError gets a failed commit. In-process apps see every
   * change the moment it is made, so there each write commits on its own.
   */
  groupCommit?: { onError: (error: unknown) => void },
): Promise<TransferService> {
  const layout = homeLayout(home);
  const config = loadConfig(layout.config);
  const logger = log ?? createLogger('bgtransfer-engine', env);
  // Not awaited: the engine opens (store, recovery) while the bus is read, and starts no attempt
  // before the first reading is in (NetworkStateSource.settled).
  const monitor = startNetworkMonitor({
    metered: config.metered,
    env,
    log: (level, message) => logger[level](message),
  });
  let engine: Engine;
  try {
    engine = Engine.open({
      home,
      config,
      openStore: (path) => SqliteOperationStore.open(path, { groupCommit }),
      logger,
      network: monitor,
    });
  } catch (error) {
    await monitor.close();
    throw error;
  }
  const tasks = new CompletionTasks(engine.store, home, logger);
  const notifications = new UploadNotifications(engine.store, logger, env);
  const stopWatching = engine.onUpdate((snapshot, published) => {
    if (!isTerminalStatus(snapshot.progress.status)) return;
    // The record the end was published from; read from the store only if none came along.
    const record = published ?? engine.getRecord(snapshot.guid);
    if (!record) return;
    if (record.extras.completionGroupId) tasks.check(record.extras.completionGroupId);
    notifications.operationEnded(record);
  });
  tasks.checkPending();

  const onConfigChange = (current: { mtimeMs: number; size: number }, previous: { mtimeMs: number; size: number }) => {
    if (current.mtimeMs === previous.mtimeMs && current.size === previous.size) return;
    try {
      const next = loadConfig(layout.config);
      engine.setConfig(next);
      monitor.setMeteredSetting(next.metered);
      logger.info('config.json reloaded');
    } catch (error) {
      // A bad edit keeps the settings in force; `bgtransfer config` validates before it writes.
      logger.error({ err: error }, 'config.json is invalid; keeping the previous settings');
    }
  };
  watchFile(layout.config, { interval: CONFIG_POLL_MS, persistent: false }, onConfigChange);

  return new TransferService(engine, {
    enableCompletionGroup: (appId, id, task) => tasks.enable(appId, id, task),
    busy: () => tasks.runningCount > 0,
    async close() {
      unwatchFile(layout.config, onConfigChange);
      stopWatching();
      await tasks.close();
      await monitor.close();
    },
  });
}
