/**
 * An app process for test/integration/completion-group.test.ts (R78–R83), run with BGTRANSFER_HOST=auto.
 * argv: BASE_URL FILE TASK_OUT UNUSED_TASK_OUT
 *
 * Creates a BackgroundTransferCompletionGroup whose task is test/scripts/completion-task.ts
 * (appending to TASK_OUT), starts three PUTs through `new BackgroundUploader(group)` — BASE_URL/ok1,
 * BASE_URL/ok2 and BASE_URL/fail — enables the group and waits for `group.enabled`. Then checks R80 from
 * the app's side (a second enable() and a new upload through the uploader both throw), starts one upload
 * in a second group that is never enabled (its task would append to UNUSED_TASK_OUT), prints
 * `ENABLED {...}` and exits at once, with the uploads still running in the host.
 */
import { fileURLToPath } from 'node:url';
import { BackgroundTransferCompletionGroup, BackgroundUploader } from '../../src/index.ts';
import { NODE_TS_FLAGS } from '../helpers/process-tools.ts';

const [baseUrl = '', file = '', taskOut = '', unusedTaskOut = ''] = process.argv.slice(2);
const TASK = fileURLToPath(new URL('./completion-task.ts', import.meta.url));

function codeOf(action: () => unknown): string {
  try {
    action();
    return 'no error';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

const group = new BackgroundTransferCompletionGroup({
  command: process.execPath,
  args: [...NODE_TS_FLAGS, TASK, taskOut],
});
const uploader = new BackgroundUploader(group);
uploader.method = 'PUT';
uploader.resumeProtocol = 'none';
const operations = ['ok1', 'ok2', 'fail'].map((name) => uploader.createUpload(`${baseUrl}/${name}`, file));
for (const operation of operations) operation.startAsync().then(undefined, () => undefined);
const enabledBefore = group.isEnabled;
group.enable();
const enabledAfter = group.isEnabled;
await group.enabled;

const secondEnable = codeOf(() => group.enable());
const uploadAfterEnable = codeOf(() => uploader.createUpload(`${baseUrl}/late`, file));

const unused = new BackgroundTransferCompletionGroup({
  command: process.execPath,
  args: [...NODE_TS_FLAGS, TASK, unusedTaskOut],
});
const unusedUploader = new BackgroundUploader(unused);
unusedUploader.method = 'PUT';
unusedUploader.resumeProtocol = 'none';
const notEnabled = unusedUploader.createUpload(`${baseUrl}/not-enabled`, file);
// Stored once any report arrives — progress, or the end if the small upload is already over.
await new Promise<void>((resolve) => {
  notEnabled.startAsync().then(
    () => resolve(),
    () => resolve(),
    () => resolve(),
  );
});

console.log(
  `ENABLED ${JSON.stringify({
    group: group.id,
    guids: Object.fromEntries(operations.map((operation, index) => [['ok1', 'ok2', 'fail'][index], operation.guid])),
    notEnabledGuid: notEnabled.guid,
    enabledBefore,
    enabledAfter,
    secondEnable,
    uploadAfterEnable,
  })}`,
);
process.exit(0);
