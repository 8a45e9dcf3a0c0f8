import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { BackgroundTransferStatus, BackgroundUploader } from '../../src/index.ts';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { uploadIetf } from '../../src/protocols/ietf/ietf-upload.ts';
import { useApiHome } from '../helpers/api-home.ts';
import { ietfAttempt, requestLines } from '../helpers/ietf-input.ts';
import { type IetfTestServer, startIetfServer } from '../helpers/ietf-server.ts';
import { type NginxServer, startNginx } from '../helpers/nginx.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/**
 * A draft server behind Debian's nginx with its default request buffering (docs/interop.md, "A draft
 * server behind nginx"). nginx reads the whole body, then passes it on; when the server's 104 comes
 * while nginx is still writing a body of several MiB to it, nginx answers the client nothing, ever.
 * A creation that holds its body back until the 104 never meets that: nginx waits for the body and the
 * 104 does not come, so the upload is created carefully (an empty creation) and appended.
 */
const MiB = 1024 * 1024;

let dir: TempDir;
let file: RandomFile;
let small: RandomFile;
let dispatcher: Dispatcher;
let draft: IetfTestServer;
let nginx: NginxServer;

before(async () => {
  dir = await makeTempDir('draft-behind-nginx-');
  file = await writeRandomFile(dir.path, 'eight.bin', 8 * MiB + 3);
  small = await writeRandomFile(dir.path, 'small.bin', 100_001);
  dispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
  draft = await startIetfServer();
  nginx = await startNginx({ proxyTo: draft.url, clientMaxBodySize: '0', requestBuffering: true });
});

after(async () => {
  await nginx?.stop();
  await draft?.close();
  await dispatcher?.close();
  await dir?.cleanup();
});

/** The draft server's requests since `from`, as "METHOD status length". */
function seenSince(from: number): string[] {
  return requestLines(draft.requests.slice(from));
}

test('8 MiB with resumeProtocol "ietf", three times: each completes; only the first waits for the 104', async () => {
  for (let round = 0; round < 3; round += 1) {
    const from = draft.requests.length;
    const started = { firstByteBeforeCreation: false };
    const { input, events } = ietfAttempt(`${nginx.url}/ietf`, file, dir.path, dispatcher, {
      // Without the wait, a creation nginx never answers ends here, not after two minutes.
      responseTimeoutMs: 5_000,
      first104WaitMs: 500,
      onSession(url) {
        events.sessions.push({ url, expiresAtMs: null, sentSoFar: events.sent.at(-1) ?? 0 });
      },
      onBytesSent(value) {
        if (events.sessions.length === 0 && value > 0) started.firstByteBeforeCreation = true;
        events.sent.push(value);
      },
    });
    const result = await uploadIetf(input);
    assert.equal(result.response.statusCode, 201, `round ${round}`);
    assert.equal(events.sessions.length, 1, `round ${round}: the careful creation's upload resource`);
    assert.equal(await draft.sha256(draft.uploadId(events.sessions[0]!.url)), file.sha256);
    assert.deepEqual(seenSince(from), ['OPTIONS 204 -', 'POST 201 0', `PATCH 201 ${file.size}`], `round ${round}`);
    // The first round sent its first body byte with the held-back creation; later rounds knew better.
    assert.equal(started.firstByteBeforeCreation, round === 0, `round ${round}`);
  }
});

test('under "auto", an endpoint a 104 came from gets the wait too: 8 MiB after a small upload completes', async () => {
  const home = await useApiHome({ responseTimeoutMs: 5_000 }, 'draft-behind-nginx');
  try {
    const uploader = new BackgroundUploader();
    uploader.resumeProtocol = 'auto';
    // A small body is out before the 104 comes back: nginx passes that 104 on, and the endpoint is learned.
    const first = uploader.createUpload(`${nginx.url}/auto`, small.path);
    await first.startAsync();
    assert.equal(first.getResponseInformation()?.isResumable, true, 'the 104 came through');
    const from = draft.requests.length;
    const large = uploader.createUpload(`${nginx.url}/auto`, file.path);
    await large.startAsync();
    assert.equal(large.progress.status, BackgroundTransferStatus.completed);
    assert.equal(large.getResponseInformation()?.statusCode, 201);
    assert.deepEqual(seenSince(from), ['OPTIONS 204 -', 'POST 201 0', `PATCH 201 ${file.size}`]);
  } finally {
    await home.cleanup();
  }
});

test('under "auto", fresh endpoints: a creation nginx never answered is retried waiting for the 104, and completes', async () => {
  const home = await useApiHome({ responseTimeoutMs: 3_000, retryBaseDelayMs: 100 }, 'draft-behind-nginx-fresh');
  try {
    const uploader = new BackgroundUploader();
    uploader.resumeProtocol = 'auto';
    // Three endpoints, since a creation sent at once hangs in most uploads of this size, not in all.
    for (const path of ['/fresh-0', '/fresh-1', '/fresh-2']) {
      const from = draft.requests.length;
      const operation = uploader.createUpload(`${nginx.url}${path}`, file.path);
      await operation.startAsync();
      assert.equal(operation.progress.status, BackgroundTransferStatus.completed, path);
      const lines = seenSince(from);
      const hung = lines.filter((line) => line === `POST 0 ${file.size}`);
      assert.ok(hung.length <= 1, `${path}: at most the first creation hangs:\n${lines.join('\n')}`);
    }
  } finally {
    await home.cleanup();
  }
});
