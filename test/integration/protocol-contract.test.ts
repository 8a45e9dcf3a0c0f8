import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { after, afterEach, before, describe, test } from 'node:test';
import { BackgroundTransferStatus as S } from '../../src/core/enums.ts';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import type { OperationSnapshot } from '../../src/core/snapshot.ts';
import { PROTOCOLS } from '../../src/protocols/registry.ts';
import type { UploadProtocol, UploadSession } from '../../src/protocols/upload-protocol.ts';
import { type EngineHarness, startEngine } from '../helpers/engine-harness.ts';
import { type FaultPlan, type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import {
  CONTRACT_ROWS,
  type ContractTarget,
  type ErrorAnswer,
  isCannot,
  sha256File,
} from '../helpers/protocol-contract-rows.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

/**
 * One contract every upload protocol passes, table-driven (rows: test/helpers/protocol-contract-rows.ts):
 * for each protocol behind the seam (src/protocols/registry.ts) with its real loopback server, the
 * same cases through a real engine: a whole upload arrives byte-exact; a cut mid-body resumes from
 * the server's offset, or restarts from byte 0 with hasRestarted where the protocol cannot resume
 * (R38); a server that forgot the upload gets a new one with hasRestarted; a 4xx and a 5xx answer end
 * in a coded error or a retry; a cancel removes the upload where the protocol can; a source changed
 * between attempts is BT_ERR_SOURCE_CHANGED. A case a protocol cannot do is a test that states why
 * and checks the protocol's declared capabilities agree.
 */

const MiB = 1024 * 1024;
/** HTTP bodies: small, but several times the cut point. */
const HTTP_SIZE = 3 * MiB + 123;
/**
 * FTP data connections go straight to the server (PASV names its own port), so no fault proxy can
 * cut them: the test pauses once the server has stored a first byte. Loopback FTP is fast, so the
 * body must be large enough for that pause to land mid-way.
 */
const FTP_SIZE = 40 * MiB + 7;
/** Where the fault proxy cuts or stalls the first connection that carries this much. */
const CUT_AT = 1 * MiB;
/**
 * The link until the fault: slow enough that the server's first answers (a 104 with the upload's
 * Location) get through before it, as they would from a remote server; server and proxy share this
 * process's event loop, so an unthrottled megabyte could outrun them.
 */
const LINK_BYTES_PER_SECOND = 4 * MiB;
const END_TIMEOUT_MS = 60_000;

const ENDED: ReadonlySet<S> = new Set([S.completed, S.error, S.canceled]);

for (const row of CONTRACT_ROWS) {
  describe(`protocol contract: ${row.name}`, () => {
    let target: ContractTarget;
    let h: EngineHarness;
    let files: TempDir;
    let protocol: UploadProtocol;
    let counter = 0;
    const proxies: FaultProxy[] = [];

    before(async () => {
      const found = PROTOCOLS.find((candidate) => candidate.name === row.protocol);
      assert.ok(found, `the registry has a protocol named ${row.protocol}`);
      protocol = found;
      files = await makeTempDir('protocol-contract-');
      target = await row.start();
      // Quick retries: a cut attempt is tried again at once.
      h = await startEngine({ retryBaseDelayMs: 50, maxAttempts: 5 });
    });
    afterEach(async () => {
      await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    });
    after(async () => {
      await h?.close();
      await target?.stop();
      await files?.cleanup();
    });

    const isFtp = () => target.proxyPort === undefined;
    const nextName = () => `upload-${++counter}.bin`;
    const sourceFor = (name: string) => writeRandomFile(files.path, name, isFtp() ? FTP_SIZE : HTTP_SIZE);
    const sessionOf = (guid: string): UploadSession | null => h.engine.getRecord(guid)?.extras.session ?? null;
    const restarted = (guid: string) => h.updates.some((s) => s.guid === guid && s.progress.hasRestarted);
    const ended = (guid: string): Promise<OperationSnapshot> =>
      h.waitFor(guid, (s) => ENDED.has(s.progress.status), END_TIMEOUT_MS);

    async function proxied(plan: FaultPlan): Promise<FaultProxy> {
      const port = target.proxyPort;
      assert.ok(port !== undefined);
      // The plan applies to every connection until it fires once; later connections pass.
      const proxy: FaultProxy = await startFaultProxy(port, {
        defaultPlan: plan,
        onFault: () => proxy.setDefaultPlan({}),
      });
      proxies.push(proxy);
      return proxy;
    }

    function start(file: RandomFile, uri: string): string {
      const spec = h.spec({
        sourcePath: file.path,
        requestedUri: uri,
        method: target.method,
        extras: { ...DEFAULT_REQUEST_EXTRAS, ...target.extras },
      });
      h.engine.start(spec);
      return spec.guid;
    }

    /** A bytes-on-the-server check: the first stored byte of an FTP upload (on disk). */
    async function ftpBytes(name: string, atLeast: number): Promise<number> {
      const path = target.diskPath?.(name) ?? '';
      return waitFor(
        `${atLeast} byte(s) of ${name} on the server`,
        () => {
          try {
            const size = statSync(path).size;
            return size >= atLeast ? size : undefined;
          } catch {
            return undefined;
          }
        },
        20_000,
      );
    }

    /**
     * A proxy that stalls the first connection at CUT_AT; where the server names the session mid-body,
     * not before that answer reached the client.
     */
    function stallingProxy(): ReturnType<typeof proxied> {
      return proxied({
        stallAfterUpstreamBytes: CUT_AT,
        throttleBytesPerSecond: LINK_BYTES_PER_SECOND,
        stallOnceAnswered: target.namesSessionMidBody === true,
      });
    }

    /**
     * Starts an upload and stops it mid-body with a session on the server where the protocol makes
     * one: HTTP through a proxy that stalls after CUT_AT bytes, then a pause; FTP paused once the
     * server stored a byte, then its sessions cut. Resolves with the bytes an FTP server holds.
     */
    async function interrupted(file: RandomFile, name: string): Promise<{ guid: string; held: number }> {
      if (isFtp()) {
        const guid = start(file, target.uri(target.base, name));
        await ftpBytes(name, 1);
        h.engine.pause(guid);
        await target.cutSessions?.();
        const held = statSync(target.diskPath?.(name) ?? '').size;
        assert.ok(held > 0 && held < file.size, `the server holds ${held} of ${file.size} bytes`);
        return { guid, held };
      }
      const proxy = await stallingProxy();
      const guid = start(file, target.uri(proxy.url, name));
      await proxy.waitForFault(30_000);
      if (protocol.capabilities.resumable) await waitFor('the session', () => sessionOf(guid)?.uploadUrl, 15_000);
      h.engine.pause(guid);
      await h.waitFor(guid, (s) => s.progress.status === S.pausedByApplication);
      return { guid, held: 0 };
    }

    async function assertStored(guid: string, name: string, file: RandomFile): Promise<void> {
      const done = await ended(guid);
      assert.equal(done.progress.status, S.completed, `completed, not ${JSON.stringify(done.error)}`);
      assert.equal(await target.stored(name, sessionOf(guid)), file.sha256, 'the server stored the file byte-exact');
    }

    test('declares what it can do, and the table agrees with the registry', () => {
      assert.ok(protocol.schemes.includes(new URL(target.base).protocol));
      assert.equal(!isCannot(target.forget), protocol.capabilities.resumable, 'forgetting needs a session');
      assert.equal(!isCannot(target.holds), protocol.capabilities.terminates, 'cancel removes where it can');
    });

    test('a whole upload arrives byte-exact', async () => {
      const name = nextName();
      const file = await sourceFor(name);
      const guid = start(file, target.uri(target.base, name));
      await assertStored(guid, name, file);
      assert.equal(restarted(guid), false);
    });

    test('cut mid-body: resumed from the server offset where the protocol can, else restarted (R38)', async (t) => {
      const name = nextName();
      const file = await sourceFor(name);
      if (isFtp()) {
        const { guid, held } = await interrupted(file, name);
        // Mark the first byte the server holds: a resume that sends only the rest leaves it flipped.
        const path = target.diskPath?.(name) ?? '';
        const handle = await open(path, 'r+');
        const first = Buffer.alloc(1);
        await handle.read(first, 0, 1, 0);
        await handle.write(Buffer.from([first[0]! ^ 0xff]), 0, 1, 0);
        await handle.close();
        h.engine.resume(guid);
        const done = await ended(guid);
        assert.equal(done.progress.status, S.completed, JSON.stringify(done.error));
        const stored = await open(path, 'r+');
        await stored.write(first, 0, 1, 0);
        await stored.close();
        assert.equal(await sha256File(path), file.sha256, 'byte-exact apart from the marked byte');
        assert.equal(restarted(guid), false, 'resumed, not restarted');
        t.diagnostic(`resumed from ${held} of ${file.size} bytes`);
        return;
      }
      const proxy = await proxied({ resetAfterUpstreamBytes: CUT_AT, throttleBytesPerSecond: LINK_BYTES_PER_SECOND });
      const guid = start(file, target.uri(proxy.url, name));
      await assertStored(guid, name, file);
      assert.ok(
        proxy.connections.some((connection) => connection.fault === 'reset'),
        'the body was cut',
      );
      if (protocol.capabilities.resumable) {
        const from = target.resumedFrom?.(name, sessionOf(guid)) ?? 0;
        assert.ok(from > 0, `resumed from the server's offset (${from}), not byte 0`);
        assert.equal(restarted(guid), false);
        t.diagnostic(`resumed from ${from} of ${file.size} bytes`);
      } else {
        assert.equal(restarted(guid), true, 'a new request from byte 0 reports hasRestarted');
      }
    });

    test('the server forgot the upload: a new one from byte 0, with hasRestarted', async (t) => {
      const forget = target.forget;
      if (isCannot(forget)) {
        t.diagnostic(`cannot: ${forget.cannot}`);
        assert.equal(protocol.capabilities.resumable, false);
        return;
      }
      const name = nextName();
      const file = await sourceFor(name);
      const { guid } = await interrupted(file, name);
      await forget(name, sessionOf(guid));
      h.engine.resume(guid);
      await assertStored(guid, name, file);
      assert.equal(restarted(guid), true, 'the new upload reports hasRestarted');
    });

    for (const [label, pick] of [
      ['a 4xx answer', (t: ContractTarget) => t.clientError],
      ['a 5xx answer', (t: ContractTarget) => t.serverError],
    ] as const) {
      test(`${label}: a coded error, or a retry where the status says "try later"`, async (t) => {
        const answer: ErrorAnswer | { cannot: string } = pick(target);
        if (isCannot(answer)) {
          t.diagnostic(`cannot: ${answer.cannot}`);
          assert.ok(answer.cannot.length > 0);
          return;
        }
        const name = nextName();
        const file = await sourceFor(name);
        const uri = (await answer.arrange(name)) ?? target.uri(target.base, name);
        try {
          const guid = start(file, uri);
          const done = await ended(guid);
          if (answer.outcome === 'retried') {
            assert.equal(done.progress.status, S.completed, JSON.stringify(done.error));
            assert.ok((answer.requests?.() ?? 0) >= 2, 'the refused request was made again');
          } else {
            assert.equal(done.progress.status, S.error);
            assert.equal(done.error?.code, answer.outcome.code, done.error?.message);
            if (answer.outcome.status !== undefined) {
              assert.equal(done.response?.statusCode, answer.outcome.status);
              // The status reaches the app's error (its HRESULT), a final one included.
              assert.equal(done.error?.httpStatus, answer.outcome.status);
            }
            t.diagnostic(done.error?.message ?? '');
          }
        } finally {
          target.reset?.();
        }
      });
    }

    test('cancel: the upload is removed from the server where the protocol can', async (t) => {
      const name = nextName();
      const file = await sourceFor(name);
      let guid: string;
      if (isFtp()) {
        guid = start(file, target.uri(target.base, name));
        await ftpBytes(name, 1);
      } else {
        const proxy = await stallingProxy();
        guid = start(file, target.uri(proxy.url, name));
        await proxy.waitForFault(30_000);
        if (protocol.capabilities.resumable) await waitFor('the session', () => sessionOf(guid)?.uploadUrl, 15_000);
      }
      const session = sessionOf(guid);
      assert.equal(h.engine.cancel(guid).progress.status, S.canceled);
      const holds = target.holds;
      if (isCannot(holds)) {
        t.diagnostic(`cannot: ${holds.cannot}`);
        assert.equal(protocol.capabilities.terminates, false);
        return;
      }
      await waitFor('the server to drop the upload', () => !holds(session), 15_000);
    });

    test('the source changed between attempts: BT_ERR_SOURCE_CHANGED', async () => {
      const name = nextName();
      const file = await sourceFor(name);
      const { guid } = await interrupted(file, name);
      // Same path and size, other bytes (and a new mtime).
      await writeRandomFile(files.path, name, file.size);
      h.engine.resume(guid);
      const done = await ended(guid);
      assert.equal(done.progress.status, S.error);
      assert.equal(done.error?.code, 'BT_ERR_SOURCE_CHANGED', done.error?.message);
    });
  });
}
