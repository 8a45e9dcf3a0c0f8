/**
 * A tiny app for process tests: starts one upload with the public API and reports it on stdout.
 * argv: METHOD URL FILE [--exit-after-start] [--resume-protocol=auto|tus|ietf|none] [--ietf-interop=N]. Prints `started <guid>`, then `progress <bytesSent>`
 * lines, then `completed <status>` or `failed <code>`.
 */
import { BackgroundUploader, closeAsync, type UploadOperation } from '../../src/index.ts';

const [method = 'PUT', url = '', file = ''] = process.argv.slice(2);
const exitAfterStart = process.argv.includes('--exit-after-start');
const uploader = new BackgroundUploader();
uploader.method = method;
const resumeProtocol = process.argv.find((arg) => arg.startsWith('--resume-protocol='))?.split('=')[1];
if (resumeProtocol !== undefined) uploader.resumeProtocol = resumeProtocol as typeof uploader.resumeProtocol;
const interop = process.argv.find((arg) => arg.startsWith('--ietf-interop='))?.slice('--ietf-interop='.length);
if (interop !== undefined) uploader.ietfInteropVersion = Number(interop) as typeof uploader.ietfInteropVersion;
const operation = uploader.createUpload(url, file);
let announced = false;
operation.startAsync().then(
  async (op: UploadOperation) => {
    console.log(`completed ${op.progress.status}`);
    await closeAsync();
  },
  async (error: unknown) => {
    console.log(`failed ${(error as { code?: string }).code}`);
    await closeAsync();
  },
  (op: UploadOperation) => {
    if (!announced) {
      announced = true;
      console.log(`started ${op.guid}`);
      if (exitAfterStart) process.exit(0);
    }
    console.log(`progress ${op.progress.bytesSent}`);
  },
);
