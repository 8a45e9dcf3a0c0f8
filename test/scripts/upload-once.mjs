// A plain-JavaScript app that uploads one file through the built package, as a user's app would
// (`import ... from 'bgtransfer'` resolves to dist/ without the "source" condition). Used where the
// measurement must not include the TypeScript loader: memory and throughput.
// argv: METHOD URL FILE. Prints `completed <status>` or `failed <code>`.
import { BackgroundUploader, closeAsync } from 'bgtransfer';

const [method, url, file] = process.argv.slice(2);
const uploader = new BackgroundUploader();
uploader.method = method;
try {
  const operation = await uploader.createUpload(url, file).startAsync();
  console.log(`completed ${operation.progress.status}`);
} catch (error) {
  console.log(`failed ${error.code}`);
} finally {
  await closeAsync();
}
