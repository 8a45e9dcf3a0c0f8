import { loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { homeLayout } from '../core/paths.ts';
import { Engine } from '../engine/engine.ts';
import { SqliteOperationStore } from '../store/sqlite-store.ts';
import { TransferService } from './transfer-service.ts';

/** Builds the engine on its embedded defaults (SQLite store, config.json) for a home directory. */
export function openTransferService(home: string, env: NodeJS.ProcessEnv = process.env): TransferService {
  const config = loadConfig(homeLayout(home).config);
  const engine = Engine.open({
    home,
    config,
    openStore: (path) => SqliteOperationStore.open(path),
    logger: createLogger('bgtransfer-engine', env),
  });
  return new TransferService(engine);
}
