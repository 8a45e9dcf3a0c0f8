import type Database from 'better-sqlite3';
import { TransferError } from '../core/errors.ts';

/**
 * The SQLite schema as ordered data. Each migration runs in its own IMMEDIATE transaction together with
 * the `PRAGMA user_version` bump, so a crash leaves the database at one version or the next, never between.
 * Never edit a released migration: append a new one.
 */
export interface Migration {
  /** The `user_version` after this migration; versions are 1, 2, 3… with no gaps. */
  readonly version: number;
  readonly description: string;
  /** Statements run in order (one statement per string). */
  readonly up: readonly string[];
}

/*
 * Column names are the camelCase names of OperationRecord so the mapping stays obvious.
 * Tables are STRICT: a counter that is not an integer is refused instead of silently stored as text/real.
 * INTEGER holds 64-bit values, and every size we store is a safe JS integer (< 2^53), so it round-trips
 * as a plain number without `safeIntegers`.
 */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    description: 'operations and transferGroups',
    up: [
      `CREATE TABLE operations (
        guid TEXT PRIMARY KEY NOT NULL,
        appId TEXT NOT NULL,
        method TEXT NOT NULL,
        requestedUri TEXT NOT NULL,
        sourcePath TEXT,
        groupName TEXT,
        transferGroupName TEXT,
        transferGroupBehavior INTEGER,
        costPolicy INTEGER NOT NULL,
        priority INTEGER NOT NULL,
        status INTEGER NOT NULL,
        bytesSent INTEGER NOT NULL DEFAULT 0,
        totalBytesToSend INTEGER NOT NULL DEFAULT 0,
        bytesReceived INTEGER NOT NULL DEFAULT 0,
        totalBytesToReceive INTEGER NOT NULL DEFAULT 0,
        hasResponseChanged INTEGER NOT NULL DEFAULT 0,
        hasRestarted INTEGER NOT NULL DEFAULT 0,
        responseVersion INTEGER NOT NULL DEFAULT 0,
        responseJson TEXT,
        errorJson TEXT,
        headersJson TEXT NOT NULL DEFAULT '[]',
        sourceSize INTEGER NOT NULL,
        sourceMtimeMs REAL NOT NULL,
        sourceIno INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        notBeforeMs INTEGER NOT NULL DEFAULT 0,
        seq INTEGER NOT NULL,
        createdAtMs INTEGER NOT NULL,
        updatedAtMs INTEGER NOT NULL
      ) STRICT`,
      // Enumerations by group and by transfer group (R22–R24).
      'CREATE INDEX operations_app_group ON operations (appId, groupName)',
      'CREATE INDEX operations_app_transfer_group ON operations (appId, transferGroupName)',
      // The scheduler picks the next queued operation by status, then priority, then queue order.
      'CREATE INDEX operations_status_priority_seq ON operations (status, priority, seq)',
      // Transfer groups persist across sessions (R27); the key makes one name one group per app (R26).
      `CREATE TABLE transferGroups (
        appId TEXT NOT NULL,
        name TEXT NOT NULL,
        transferBehavior INTEGER NOT NULL,
        PRIMARY KEY (appId, name)
      ) STRICT`,
    ],
  },
  {
    version: 2,
    description: 'resumable uploads, content kinds, credentials and completion groups',
    up: [
      // Bytes the server acknowledged having (tus/IETF Upload-Offset, FTP SIZE): where a resume starts.
      'ALTER TABLE operations ADD COLUMN ackOffset INTEGER NOT NULL DEFAULT 0',
      // OperationExtras as JSON: body kind (file, multipart, stream spool), resume protocol and session,
      // credentials, notifications, completion group. Read and written whole, validated on the way out.
      "ALTER TABLE operations ADD COLUMN extrasJson TEXT NOT NULL DEFAULT '{}'",
      // R78–R83: a completion group's task runs once, after every member ended, once it is enabled.
      `CREATE TABLE completionGroups (
        id TEXT PRIMARY KEY NOT NULL,
        appId TEXT NOT NULL,
        taskJson TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 0,
        firedAtMs INTEGER,
        createdAtMs INTEGER NOT NULL
      ) STRICT`,
    ],
  },
  {
    version: 3,
    description: 'notified notification batches',
    up: [
      // R74: an uploader's success/failure notification is shown once, even across host restarts.
      'CREATE TABLE notifiedBatches (batchId TEXT PRIMARY KEY NOT NULL, notifiedAtMs INTEGER NOT NULL) STRICT',
    ],
  },
  {
    version: 4,
    description: 'indexes for per-app live counts and queue appends',
    up: [
      // R28/R29 limits are checked on every start: count live rows without visiting finished ones.
      'CREATE INDEX operations_app_status ON operations (appId, status)',
      // A new operation goes to the end of the queue: MAX(seq) from the index instead of a scan.
      'CREATE INDEX operations_seq ON operations (seq)',
    ],
  },
  {
    version: 5,
    description: 'store identity',
    up: [
      // A random id made once per database: the home records it (bgtransfer.db.id), so a database that was
      // emptied or swapped for another is told apart from a first start (store-identity.ts).
      'CREATE TABLE storeIdentity (id TEXT PRIMARY KEY NOT NULL, createdAtMs INTEGER NOT NULL) STRICT',
      "INSERT INTO storeIdentity (id, createdAtMs) VALUES (lower(hex(randomblob(16))), CAST(strftime('%s', 'now') AS INTEGER) * 1000)",
    ],
  },
  {
    version: 6,
    description: 'endpoint capabilities',
    up: [
      // What an endpoint speaks (tus, the IETF draft, plain), learned once by resumeProtocol "auto" so
      // that later uploads skip the probe; an entry past expiresAtMs is probed again.
      `CREATE TABLE endpointCapabilities (
        endpoint TEXT PRIMARY KEY NOT NULL,
        protocol TEXT NOT NULL,
        detailsJson TEXT NOT NULL DEFAULT '{}',
        learnedAtMs INTEGER NOT NULL,
        expiresAtMs INTEGER NOT NULL
      ) STRICT`,
    ],
  },
  {
    version: 7,
    description: 'download operations',
    up: [
      // Rows written before downloads existed are uploads. The mapping refuses any other value.
      "ALTER TABLE operations ADD COLUMN direction TEXT NOT NULL DEFAULT 'upload'",
      // A download's result file (absolute); NULL for uploads.
      'ALTER TABLE operations ADD COLUMN resultPath TEXT',
      // getCurrentUploadsAsync / getCurrentDownloadsAsync enumerate one direction of one app.
      'CREATE INDEX operations_app_direction ON operations (appId, direction)',
    ],
  },
  {
    version: 8,
    description: 'enumeration pages in queue order',
    up: [
      // An enumeration page is "the app's next rows after (seq, guid)": this index answers it as a range
      // scan. Without it each page of a 10,000-operation app read and sorted all 10,000 rows.
      'CREATE INDEX operations_app_seq ON operations (appId, seq, guid)',
    ],
  },
]);

export const LATEST_SCHEMA_VERSION: number = MIGRATIONS.at(-1)?.version ?? 0;

function readUserVersion(db: Database.Database): number {
  const version: unknown = db.pragma('user_version', { simple: true });
  if (typeof version !== 'number') {
    throw new TransferError('BT_ERR_STORE', `unexpected PRAGMA user_version result: ${String(version)}`);
  }
  return version;
}

function tooNew(db: Database.Database, version: number, latest: number): TransferError {
  return new TransferError(
    'BT_ERR_STORE',
    `the database ${db.name} has schema version ${version}, newer than this bgtransfer supports ` +
      `(${latest}); it was written by a newer release — upgrade bgtransfer to use it`,
  );
}

/**
 * Brings `db` to LATEST_SCHEMA_VERSION. Throws BT_ERR_STORE when the database is newer than the code.
 * The version is re-read inside each write transaction, so two processes opening a fresh file at the same
 * time do not both run the same migration.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const latest = migrations.at(-1)?.version ?? 0;
  const initial = readUserVersion(db);
  if (initial > latest) throw tooNew(db, initial, latest);
  for (const migration of migrations) {
    const apply = db.transaction(() => {
      const current = readUserVersion(db);
      if (current > latest) throw tooNew(db, current, latest);
      if (current >= migration.version) return;
      if (current !== migration.version - 1) {
        throw new TransferError(
          'BT_ERR_STORE',
          `cannot apply migration ${migration.version} to schema version ${current} of ${db.name}`,
        );
      }
      for (const statement of migration.up) db.exec(statement);
      // PRAGMA does not take bound parameters; the version is an integer from our own table.
      db.pragma(`user_version = ${migration.version}`);
    });
    try {
      apply.immediate();
    } catch (error) {
      if (error instanceof TransferError) throw error;
      throw new TransferError(
        'BT_ERR_STORE',
        `migration ${migration.version} (${migration.description}) failed on ${db.name}: ${String(error)}`,
        { cause: error },
      );
    }
  }
  return readUserVersion(db);
}
