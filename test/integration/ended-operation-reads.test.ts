import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BackgroundTransferStatus, BackgroundUploader } from '../../src/index.ts';
import { SqliteOperationStore } from '../../src/store/sqlite-store.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * When an operation ends, the transfer service checks its completion group and its notifications
 * (docs/windows-behaviour.md, R74–R83). Both need the engine's fields of the record, which the engine
 * has just written and read back: the end is published with that record, so the service reads nothing
 * more from the store. Before, each ended operation read its row twice more (once per check), every
 * one of 10,000 small uploads (docs/performance.md, "Host: many small uploads").
 */
let server: UploadServer;
let files: TempDir;
let api: ApiHome;
before(async () => {
  server = await startUploadServer();
  files = await makeTempDir('ended-reads-');
  api = await useApiHome({}, 'ended-reads');
});
after(async () => {
  await api.cleanup();
  await server.close();
  await files.cleanup();
});

test('an ended upload is checked for its completion group and notifications without reading its row back', async () => {
  const reads: string[] = [];
  const getOperation = SqliteOperationStore.prototype.getOperation;
  SqliteOperationStore.prototype.getOperation = function (this: SqliteOperationStore, guid: string) {
    const record = getOperation.call(this, guid);
    // A start first looks its guid up (a re-sent start returns the stored one): that finds nothing.
    if (record !== undefined) reads.push(new Error(`read back ${guid}`).stack ?? '');
    return record;
  };
  try {
    const uploader = new BackgroundUploader();
    uploader.method = 'PUT';
    uploader.resumeProtocol = 'none';
    for (const index of [1, 2, 3]) {
      const file = await writeRandomFile(files.path, `f${index}.bin`, 4096);
      const operation = uploader.createUpload(`${server.url}/u/${index}`, file.path);
      reads.length = 0;
      await operation.startAsync();
      assert.equal(operation.progress.status, BackgroundTransferStatus.completed);
      assert.equal(operation.getResponseInformation()?.statusCode, 201);
      assert.deepEqual(reads, [], 'stored rows read back from the start to the completion');
    }
  } finally {
    SqliteOperationStore.prototype.getOperation = getOperation;
  }
});
