import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  BackgroundTransferCompletionGroup,
  BackgroundTransferContentPart,
  BackgroundTransferGroup,
  BackgroundUploader,
  StorageFile,
  Uri,
} from '../../src/index.ts';
import { type AreaContext, type AreaRow, coded } from './bad-input-area.ts';
import type { Outcome } from './bad-input-harness.ts';

/**
 * API rows of test/integration/bad-input.test.ts: the app's own calls (BackgroundUploader, UploadOperation,
 * Uri, StorageFile, content parts, completion and transfer groups) in this test process, through the real
 * host in socket mode (BGTRANSFER_HOST=auto). Each expects a coded error; nothing the row does may touch
 * another app's uploads.
 */

/** Longer than any URL a server accepts; the client must still refuse or carry it without crashing. */
const LONG = 'a'.repeat(70 * 1024);

type Setup = (uploader: BackgroundUploader) => void;

/** createUpload (and startAsync) with `setup` applied: the uploader's setting or the URI/file is the bad input. */
function upload(
  ctx: AreaContext,
  setup: Setup,
  uri: unknown = `${ctx.url}/api`,
  file: unknown = ctx.file,
): Promise<Outcome> {
  return coded(async () => {
    const uploader = new BackgroundUploader();
    setup(uploader);
    // biome-ignore lint/suspicious/noExplicitAny: the row passes what a JavaScript caller could pass
    await uploader.createUpload(uri as any, file as any).startAsync();
  });
}
const noSetup: Setup = () => undefined;

function uriRow(name: string, uri: (ctx: AreaContext) => unknown, code: string): AreaRow {
  return { name: `API: ${name}`, act: (ctx) => upload(ctx, noSetup, uri(ctx)), expect: { code } };
}
function fileRow(name: string, file: (ctx: AreaContext) => unknown, code: string): AreaRow {
  return { name: `API: ${name}`, act: (ctx) => upload(ctx, noSetup, undefined, file(ctx)), expect: { code } };
}
function settingRow(name: string, setup: Setup, code: string): AreaRow {
  return { name: `API: ${name}`, act: (ctx) => upload(ctx, setup), expect: { code } };
}

/** createUploadAsync with parts made by `parts`. */
function multipart(ctx: AreaContext, parts: () => unknown[], subType?: string, boundary?: string): Promise<Outcome> {
  return coded(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the row passes what a JavaScript caller could pass
    const op = await new BackgroundUploader().createUploadAsync(`${ctx.url}/mp`, parts() as any, subType, boundary);
    await op.startAsync();
  });
}
const textPart = (): BackgroundTransferContentPart => {
  const part = new BackgroundTransferContentPart('field');
  part.setText('value');
  return part;
};

function streamRow(name: string, stream: () => unknown): AreaRow {
  return {
    name: `API: createUploadFromStreamAsync with ${name}`,
    // biome-ignore lint/suspicious/noExplicitAny: the row passes what a JavaScript caller could pass
    act: (ctx) => coded(() => new BackgroundUploader().createUploadFromStreamAsync(`${ctx.url}/s`, stream() as any)),
    expect: { code: 'BT_ERR_INVALID_ARGUMENT' },
  };
}

export const API_ROWS: AreaRow[] = [
  uriRow('a relative URI', () => '/upload/here', 'BT_ERR_INVALID_URI'),
  uriRow('a URI with no host', () => 'http://', 'BT_ERR_INVALID_URI'),
  uriRow('a javascript: URI', () => 'javascript:alert(1)', 'BT_ERR_UNSUPPORTED_SCHEME'),
  uriRow('a file: URI', (ctx) => `file://${ctx.file}`, 'BT_ERR_UNSUPPORTED_SCHEME'),
  uriRow('a data: URI', () => 'data:text/plain,hello', 'BT_ERR_UNSUPPORTED_SCHEME'),
  uriRow('a ws: URI', () => 'ws://127.0.0.1/x', 'BT_ERR_UNSUPPORTED_SCHEME'),
  uriRow('a gopher: URI', () => 'gopher://127.0.0.1/x', 'BT_ERR_UNSUPPORTED_SCHEME'),
  uriRow('a URI longer than a frame field (70 KiB path)', (ctx) => `${ctx.url}/${LONG}`, 'BT_ERR_INVALID_URI'),
  uriRow('a number for the URI', () => 42, 'BT_ERR_INVALID_URI'),
  uriRow('null for the URI', () => null, 'BT_ERR_INVALID_URI'),
  uriRow('an empty string for the URI', () => '', 'BT_ERR_INVALID_URI'),
  {
    name: 'API: new Uri("not a uri")',
    act: () => coded(() => new Uri('not a uri')),
    expect: { code: 'BT_ERR_INVALID_URI' },
  },
  settingRow(
    'method with a space',
    (u) => {
      u.method = 'PO ST';
    },
    'BT_ERR_INVALID_METHOD',
  ),
  settingRow(
    'an empty method',
    (u) => {
      u.method = '';
    },
    'BT_ERR_INVALID_METHOD',
  ),
  settingRow(
    'method with CR LF',
    (u) => {
      u.method = 'PUT\r\nX-Evil: 1';
    },
    'BT_ERR_INVALID_METHOD',
  ),
  settingRow('header name with CR LF', (u) => u.setRequestHeader('X-A\r\nX-B', 'v'), 'BT_ERR_INVALID_HEADER'),
  settingRow('header value with CR LF', (u) => u.setRequestHeader('X-A', 'v\r\nX-B: w'), 'BT_ERR_INVALID_HEADER'),
  settingRow('header value with NUL', (u) => u.setRequestHeader('X-A', 'v\0w'), 'BT_ERR_INVALID_HEADER'),
  settingRow('header name that is not a token', (u) => u.setRequestHeader('X A(b)', 'v'), 'BT_ERR_INVALID_HEADER'),
  settingRow('an empty header name', (u) => u.setRequestHeader('', 'v'), 'BT_ERR_INVALID_HEADER'),
  settingRow('header value above U+00FF', (u) => u.setRequestHeader('X-A', 'snow ☃'), 'BT_ERR_INVALID_HEADER'),
  settingRow('a 70 KiB header value', (u) => u.setRequestHeader('X-Huge', LONG), 'BT_ERR_INVALID_HEADER'),
  settingRow(
    'costPolicy 7',
    (u) => {
      u.costPolicy = 7 as never;
    },
    'BT_ERR_INVALID_ARGUMENT',
  ),
  settingRow(
    'costPolicy "always"',
    (u) => {
      u.costPolicy = 'always' as never;
    },
    'BT_ERR_INVALID_ARGUMENT',
  ),
  settingRow(
    'resumeProtocol "ftp"',
    (u) => {
      u.resumeProtocol = 'ftp' as never;
    },
    'BT_ERR_INVALID_ARGUMENT',
  ),
  settingRow(
    'ietfInteropVersion 7',
    (u) => {
      u.ietfInteropVersion = 7 as never;
    },
    'BT_ERR_INVALID_ARGUMENT',
  ),
  settingRow(
    'an empty group name',
    (u) => {
      u.group = '';
    },
    'BT_ERR_INVALID_ARGUMENT',
  ),
  settingRow(
    'a 70 KiB group name',
    (u) => {
      u.group = LONG;
    },
    'BT_ERR_INVALID_ARGUMENT',
  ),
  settingRow(
    'a transfer group with a 70 KiB name',
    (u) => {
      u.transferGroup = BackgroundTransferGroup.createGroup(LONG);
    },
    'BT_ERR_INVALID_ARGUMENT',
  ),
  settingRow(
    'a transferGroup that is a plain object',
    (u) => {
      u.transferGroup = { name: 'g', transferBehavior: 0 } as never;
    },
    'BT_ERR_INVALID_ARGUMENT',
  ),
  settingRow(
    'serverCredential without a password',
    (u) => {
      u.serverCredential = { userName: 'u' } as never;
    },
    'BT_ERR_INVALID_ARGUMENT',
  ),
  {
    name: 'API: BackgroundTransferGroup.createGroup("")',
    act: () => coded(() => BackgroundTransferGroup.createGroup('')),
    expect: { code: 'BT_ERR_INVALID_ARGUMENT' },
  },
  fileRow('a missing file', (ctx) => join(ctx.scratch, 'no-such-file'), 'BT_ERR_FILE_NOT_FOUND'),
  fileRow('a directory', (ctx) => ctx.scratch, 'BT_ERR_NOT_A_FILE'),
  fileRow(
    'a FIFO',
    (ctx) => {
      const fifo = join(ctx.scratch, 'api-fifo');
      execFileSync('mkfifo', ['-m', '600', fifo]);
      return fifo;
    },
    'BT_ERR_NOT_A_FILE',
  ),
  fileRow('/proc/self/status (size 0, yields bytes)', () => '/proc/self/status', 'BT_ERR_SOURCE_CHANGED'),
  fileRow('/dev/null', () => '/dev/null', 'BT_ERR_NOT_A_FILE'),
  fileRow('a file under a regular file', (ctx) => join(ctx.file, 'below'), 'BT_ERR_FILE_NOT_FOUND'),
  fileRow('a number for the file', () => 42, 'BT_ERR_INVALID_ARGUMENT'),
  {
    name: 'API: StorageFile.getFileFromPathAsync of a directory',
    act: (ctx) => coded(() => StorageFile.getFileFromPathAsync(ctx.scratch)),
    expect: { code: 'BT_ERR_NOT_A_FILE' },
  },
  {
    name: 'API: StorageFile.getFileFromPathAsync of a missing file',
    act: (ctx) => coded(() => StorageFile.getFileFromPathAsync(join(ctx.scratch, 'missing'))),
    expect: { code: 'BT_ERR_FILE_NOT_FOUND' },
  },
  streamRow('a string', () => 'hello'),
  streamRow('a Buffer', () => Buffer.from('hello')),
  streamRow('a plain object', () => ({ read: 1 })),
  {
    name: 'API: a stream that errors while spooled',
    act: (ctx) =>
      coded(() =>
        new BackgroundUploader().createUploadFromStreamAsync(
          `${ctx.url}/s`,
          new Readable({
            read() {
              this.destroy(new Error('the source broke'));
            },
          }),
        ),
      ),
    expect: { code: 'BT_ERR_IO' },
  },
  {
    name: 'API: startAsync twice',
    act: (ctx) =>
      coded(async () => {
        const op = new BackgroundUploader().createUpload(`${ctx.url}/twice`, ctx.file);
        const first = op.startAsync();
        try {
          await op.startAsync();
        } finally {
          await first;
        }
      }),
    expect: { code: 'BT_ERR_ILLEGAL_STATE' },
  },
  {
    name: 'API: startAsync on an enumerated upload',
    act: (ctx) =>
      coded(async () => {
        await new BackgroundUploader().createUpload(`${ctx.url}/enumerated`, ctx.file).startAsync();
        const [op] = await BackgroundUploader.getCurrentUploadsAsync();
        await op?.startAsync();
      }),
    expect: { code: 'BT_ERR_ILLEGAL_STATE' },
  },
  {
    name: 'API: priority 9 on an upload',
    act: (ctx) =>
      coded(() => {
        const op = new BackgroundUploader().createUpload(`${ctx.url}/p`, ctx.file);
        op.priority = 9 as never;
      }),
    expect: { code: 'BT_ERR_INVALID_ARGUMENT' },
  },
  {
    name: 'API: getResultStreamAt(-1)',
    act: (ctx) => coded(() => new BackgroundUploader().createUpload(`${ctx.url}/r`, ctx.file).getResultStreamAt(-1)),
    expect: { code: 'BT_ERR_INVALID_ARGUMENT' },
  },
  {
    name: 'API: getCurrentUploadsAsync(42)',
    act: () => coded(() => BackgroundUploader.getCurrentUploadsAsync(42 as never)),
    expect: { code: 'BT_ERR_INVALID_ARGUMENT' },
  },
  {
    name: 'API: multipart subtype with a space',
    act: (ctx) => multipart(ctx, () => [textPart()], 'form data'),
    expect: { code: 'BT_ERR_INVALID_ARGUMENT' },
  },
  {
    name: 'API: multipart boundary of 71 characters',
    act: (ctx) => multipart(ctx, () => [textPart()], 'form-data', 'b'.repeat(71)),
    expect: { code: 'BT_ERR_INVALID_ARGUMENT' },
  },
  {
    name: 'API: multipart boundary with CR LF',
    act: (ctx) => multipart(ctx, () => [textPart()], 'form-data', 'abc\r\ndef'),
    expect: { code: 'BT_ERR_INVALID_ARGUMENT' },
  },
  {
    name: 'API: a content part with both text and file',
    act: (ctx) =>
      multipart(ctx, () => {
        const part = textPart();
        part.setFile(ctx.file);
        return [part];
      }),
    expect: { code: 'BT_ERR_ILLEGAL_STATE' },
  },
  {
    name: 'API: a content part header with LF',
    act: (ctx) =>
      multipart(ctx, () => {
        const part = textPart();
        part.setHeader('X-A', 'a\nb');
        return [part];
      }),
    expect: { code: 'BT_ERR_INVALID_HEADER' },
  },
  {
    name: 'API: a part that is a plain object',
    act: (ctx) => multipart(ctx, () => [{ name: 'x' }]),
    expect: { code: 'BT_ERR_INVALID_ARGUMENT' },
  },
  {
    name: 'API: a file part whose file is a directory',
    act: (ctx) =>
      multipart(ctx, () => {
        const part = new BackgroundTransferContentPart('f');
        const dir = join(ctx.scratch, 'part-dir');
        mkdirSync(dir, { recursive: true });
        part.setFile(dir);
        return [part];
      }),
    expect: { code: 'BT_ERR_NOT_A_FILE' },
  },
  {
    name: 'API: a completion group enabled without a task',
    act: () => coded(() => new BackgroundTransferCompletionGroup().enable()),
    expect: { code: 'BT_ERR_INVALID_ARGUMENT' },
  },
  {
    name: 'API: a completion group enabled twice',
    act: () =>
      coded(() => {
        const group = new BackgroundTransferCompletionGroup({ command: '/bin/true' });
        group.enable();
        group.enable();
      }),
    expect: { code: 'BT_ERR_ILLEGAL_STATE' },
  },
  {
    name: 'API: an upload joining an enabled completion group',
    act: (ctx) =>
      coded(() => {
        const group = new BackgroundTransferCompletionGroup({ command: '/bin/true' });
        group.enable();
        new BackgroundUploader(group).createUpload(`${ctx.url}/cg`, ctx.file);
      }),
    expect: { code: 'BT_ERR_ILLEGAL_STATE' },
  },
  {
    name: 'API: a completion task whose args are numbers',
    act: () => coded(() => new BackgroundTransferCompletionGroup({ command: '/bin/true', args: [1, 2] as never })),
    expect: { code: 'BT_ERR_INVALID_ARGUMENT' },
  },
  {
    name: 'API: BackgroundUploader given a plain object as completion group',
    act: () => coded(() => new BackgroundUploader({} as never)),
    expect: { code: 'BT_ERR_INVALID_ARGUMENT' },
  },
];
