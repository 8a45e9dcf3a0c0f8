// One PUT through the built package's public API, in this process (BGTRANSFER_HOST=inproc), written as
// a plain-JavaScript app would write it: `bgtransfer` resolves to dist/, so no TypeScript loader is
// measured. resumeProtocol 'none' sends the raw PUT curl sends (no OPTIONS probe).
// argv: URL FILE. Prints `completed <statusCode>` or `failed <code>`; exit code 0 only on a 2xx.
import { BackgroundUploader, closeAsync } from 'bgtransfer';

const [url, file] = process.argv.slice(2);
const uploader = new BackgroundUploader();
uploader.method = 'PUT';
uploader.resumeProtocol = 'none';
try {
  const operation = await uploader.createUpload(url, file).startAsync();
  const statusCode = operation.getResponseInformation()?.statusCode;
  console.log(`completed ${statusCode}`);
  if (!(statusCode >= 200 && statusCode < 300)) process.exitCode = 1;
} catch (error) {
  console.log(`failed ${error.code}`);
  process.exitCode = 1;
} finally {
  await closeAsync();
}
