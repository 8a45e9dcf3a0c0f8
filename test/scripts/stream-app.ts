/**
 * An app process for test/integration/api-streams.test.ts (a stream upload survives the app).
 * Runs with BGTRANSFER_HOST=auto, so the upload lives in the transfer host.
 *
 *   start URL FILE  → uploads `createReadStream(FILE)` (a Node Readable) with createUploadFromStreamAsync
 *                     and PUT; once the host has stored the upload (its first progress report) prints
 *                     `STARTED {"guid":…,"totalBytesToSend":…}` and exits at once with code 0.
 *   attach GUID     → finds the upload with getCurrentUploadsAsync, prints `FOUND {"status":…}`, attaches
 *                     and prints `DONE {"status":…,"statusCode":…,"bytesSent":…}` (or `FAILED <code>`).
 */
import { createReadStream } from 'node:fs';
import { BackgroundUploader, closeAsync, type UploadOperation } from '../../src/index.ts';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'start') {
  const [url = '', file = ''] = args;
  const uploader = new BackgroundUploader();
  uploader.method = 'PUT';
  uploader.resumeProtocol = 'none';
  const operation = await uploader.createUploadFromStreamAsync(url, createReadStream(file));
  operation.startAsync().progress((op: UploadOperation) => {
    const { totalBytesToSend } = op.progress;
    console.log(`STARTED ${JSON.stringify({ guid: op.guid, totalBytesToSend })}`);
    // Right away: the app is gone while the upload is still in the host.
    process.exit(0);
  });
} else if (mode === 'attach') {
  const [guid] = args;
  const operation = [...(await BackgroundUploader.getCurrentUploadsAsync())].find((op) => op.guid === guid);
  if (!operation) {
    console.log('FAILED not-found');
    process.exit(1);
  }
  console.log(`FOUND ${JSON.stringify({ status: operation.progress.status })}`);
  try {
    await operation.attachAsync();
    const { status, bytesSent } = operation.progress;
    const statusCode = operation.getResponseInformation()?.statusCode ?? null;
    console.log(`DONE ${JSON.stringify({ status, statusCode, bytesSent })}`);
  } catch (error) {
    console.log(`FAILED ${(error as { code?: string }).code}`);
  }
  await closeAsync();
} else {
  console.error('usage: stream-app.ts start URL FILE | attach GUID');
  process.exit(2);
}
