import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ErrorCode } from '../../src/core/errors.ts';
import type { RequestExtras } from '../../src/core/operation-extras.ts';
import type { UploadSession } from '../../src/protocols/upload-protocol.ts';
import { startFtpSrv, type TestFtpServer } from './ftp-servers.ts';
import { type IetfTestServer, startIetfServer } from './ietf-server.ts';
import { startNginx } from './nginx.ts';
import { startTusServer, type TusTestServer } from './tus-server.ts';
import { startUploadServer } from './upload-server.ts';
import { startVsftpd } from './vsftpd.ts';

/**
 * The rows of the protocol contract suite (test/integration/protocol-contract.test.ts): one per
 * protocol and real loopback server, each saying how to reach the server, what it stored, and what
 * the protocol is expected to do in each case, or, where it cannot do a case, why.
 */

/** A case the protocol cannot do, and why; the suite checks the reason is stated. */
export interface Cannot {
  cannot: string;
}

/** An error answer: how to provoke it for one upload, and how the upload must end. */
export interface ErrorAnswer {
  /** Sets the server up; returns the URI to upload to instead of the row's, if any. */
  arrange(name: string): Promise<string | undefined> | string | undefined;
  /** A coded error, not retried, with the answer's status kept as the response (R43); or 'retried'. */
  outcome: { code: ErrorCode; status?: number } | 'retried';
  /** Whether a second request was made (only for 'retried'). */
  requests?(): number;
}

export interface ContractTarget {
  /** The port a fault proxy goes in front of; undefined for FTP, whose data connections bypass one. */
  proxyPort: number | undefined;
  /** The URI of upload `name` under `base` (the server's own origin or the fault proxy's). */
  uri(base: string, name: string): string;
  /** The server's own origin (`http://127.0.0.1:port`, `ftp://127.0.0.1:port`). */
  base: string;
  method: string;
  extras: Partial<RequestExtras>;
  /**
   * The server names the upload's session in an answer that comes while the body is still going (the
   * draft's 104): a stall at CUT_AT then waits for that answer to reach the client.
   */
  namesSessionMidBody?: boolean;
  /** Hex SHA-256 of what the server stored for the upload, or undefined if it has nothing. */
  stored(name: string, session: UploadSession | null): Promise<string | undefined>;
  /** Resumable HTTP rows: the largest offset a request continued the upload from (0: never resumed). */
  resumedFrom?(name: string, session: UploadSession | null): number;
  /** Makes the server forget the upload, as if it had expired. */
  forget: ((name: string, session: UploadSession | null) => Promise<void>) | Cannot;
  /** After a cancel: whether the server still holds the upload. */
  holds: ((session: UploadSession | null) => boolean) | Cannot;
  clientError: ErrorAnswer | Cannot;
  serverError: ErrorAnswer | Cannot;
  /** Undoes what an ErrorAnswer arranged, after its test. */
  reset?(): void;
  /** FTP: the file on the server's disk, to see bytes arrive. */
  diskPath?(name: string): string;
  /** FTP: ends the server's sessions (a cut), keeping what it stored. */
  cutSessions?(): Promise<void>;
  stop(): Promise<void>;
}

export interface ContractRow {
  name: string;
  /** The registry's name of the protocol the row exercises. */
  protocol: string;
  start(): Promise<ContractTarget>;
}

export function isCannot<T extends object>(value: T | Cannot): value is Cannot {
  return 'cannot' in value;
}

export function sha256File(path: string): Promise<string | undefined> {
  if (!existsSync(path)) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

function header(headers: ReadonlyArray<readonly [string, string]>, name: string): string | undefined {
  return headers.find(([key]) => key.toLowerCase() === name)?.[1];
}

/** The largest Upload-Offset a PATCH to this upload resource carried. */
function patchedFrom(
  requests: ReadonlyArray<{ method: string; url: string; headers: Array<[string, string]> }>,
  id: string,
): number {
  return Math.max(
    0,
    ...requests
      .filter((request) => request.method === 'PATCH' && request.url.endsWith(`/${id}`))
      .map((request) => Number(header(request.headers, 'upload-offset') ?? 0)),
  );
}

function tusRow(): ContractRow {
  return {
    name: 'tus (@tus/server)',
    protocol: 'tus',
    async start() {
      let failNextCreation = false;
      let broken = false;
      let server: TusTestServer | undefined;
      server = await startTusServer({
        // A 500 from the server itself: its store's directory is replaced by a file for one creation.
        async beforeHandle(request) {
          if (request.method !== 'POST' || !server) return;
          if (failNextCreation) {
            failNextCreation = false;
            broken = true;
            await rm(server.directory, { recursive: true, force: true });
            await writeFile(server.directory, '');
          } else if (broken) {
            broken = false;
            await rm(server.directory, { force: true });
            await mkdir(server.directory, { recursive: true });
          }
        },
      });
      const tus = server;
      const limited = await startTusServer({ maxSize: 1024 });
      const id = (session: UploadSession | null) => (session?.uploadUrl ? tus.uploadId(session.uploadUrl) : '');
      const posts = () => tus.requests.filter((request) => request.method === 'POST').length;
      return {
        proxyPort: tus.port,
        base: tus.url,
        uri: (base) => `${base}/files/`,
        method: 'POST',
        extras: { resumeProtocol: 'tus' },
        stored: async (_name, session) => (id(session) ? tus.sha256(id(session)) : undefined),
        resumedFrom: (_name, session) => patchedFrom(tus.requests, id(session)),
        async forget(_name, session) {
          await rm(join(tus.directory, id(session)), { force: true });
          await rm(join(tus.directory, `${id(session)}.json`), { force: true });
        },
        holds: (session) => tus.exists(id(session)),
        clientError: {
          arrange: () => limited.endpoint,
          outcome: { code: 'BT_ERR_HTTP_STATUS', status: 413 },
        },
        serverError: {
          arrange() {
            failNextCreation = true;
            return undefined;
          },
          outcome: 'retried',
          requests: posts,
        },
        async stop() {
          await tus.close();
          await limited.close();
        },
      };
    },
  };
}

function ietfRow(version: 6 | 8): ContractRow {
  return {
    name: `IETF draft, interop ${version} (test/helpers/ietf-server.ts)`,
    protocol: 'ietf',
    async start() {
      const draft: IetfTestServer = await startIetfServer({ versions: [version] });
      const id = (session: UploadSession | null) => (session?.uploadUrl ? draft.uploadId(session.uploadUrl) : '');
      // A final answer to the completed upload: the draft says resuming cannot help (-11).
      const failFinal = (status: number): ErrorAnswer => ({
        arrange() {
          draft.options.failFinal = status;
          return undefined;
        },
        outcome: { code: 'BT_ERR_UPLOAD_REJECTED', status },
      });
      return {
        proxyPort: draft.port,
        base: draft.url,
        uri: (base, name) => `${base}/create/${name}`,
        method: 'POST',
        extras: { resumeProtocol: 'ietf', ietfInteropVersion: version },
        namesSessionMidBody: true,
        stored: async (_name, session) => (draft.uploads.has(id(session)) ? draft.sha256(id(session)) : undefined),
        resumedFrom: (_name, session) => patchedFrom(draft.requests, id(session)),
        forget: (_name, session) => draft.forget(id(session)),
        holds: (session) => draft.uploads.has(id(session)),
        clientError: failFinal(422),
        serverError: failFinal(500),
        reset() {
          draft.options.failFinal = undefined;
        },
        stop: () => draft.close(),
      };
    },
  };
}

const NO_SESSION = 'a plain request has no upload on the server to continue: every attempt is a new request (R38)';

function nodeHttpRow(): ContractRow {
  return {
    name: 'plain HTTP PUT (node:http, test/helpers/upload-server.ts)',
    protocol: 'http',
    async start() {
      const server = await startUploadServer();
      let unavailable = 0;
      server.route('/refused', () => ({ status: 403, body: 'not here' }));
      server.route('/unavailable', () => (++unavailable === 1 ? { status: 503, body: 'busy' } : { status: 201 }));
      const last = (name: string) =>
        server.requests.filter((request) => request.url === `/plain/${name}` && request.complete).at(-1);
      return {
        proxyPort: server.port,
        base: server.url,
        uri: (base, name) => `${base}/plain/${name}`,
        method: 'PUT',
        extras: { resumeProtocol: 'none' },
        stored: async (name) => last(name)?.sha256 ?? undefined,
        forget: { cannot: NO_SESSION },
        holds: { cannot: NO_SESSION },
        clientError: {
          arrange: () => `${server.url}/refused`,
          outcome: { code: 'BT_ERR_HTTP_STATUS', status: 403 },
        },
        serverError: {
          arrange: () => `${server.url}/unavailable`,
          outcome: 'retried',
          requests: () => unavailable,
        },
        stop: () => server.close(),
      };
    },
  };
}

function nginxRow(): ContractRow {
  return {
    name: 'plain HTTP PUT (Debian nginx, WebDAV)',
    protocol: 'http',
    async start() {
      const nginx = await startNginx();
      return {
        proxyPort: Number(new URL(nginx.url).port),
        base: nginx.url,
        uri: (base, name) => `${base}/dav/contract/${name}`,
        method: 'PUT',
        extras: { resumeProtocol: 'none' },
        stored: (name) => sha256File(join(nginx.root, 'contract', name)),
        forget: { cannot: NO_SESSION },
        holds: { cannot: NO_SESSION },
        // Outside /dav/ nginx's default client_max_body_size (1 MiB) applies: the body is refused.
        clientError: {
          arrange: (name) => `${nginx.url}/static/${name}`,
          outcome: { code: 'BT_ERR_HTTP_STATUS', status: 413 },
        },
        serverError: {
          cannot: 'stock nginx has no setting that answers a PUT with a 5xx; the node:http row covers a retried 5xx',
        },
        stop: () => nginx.stop(),
      };
    },
  };
}

function ftpRow(kind: 'vsftpd' | 'ftp-srv'): ContractRow {
  return {
    name: kind === 'vsftpd' ? 'FTP (Debian vsftpd)' : 'FTP (ftp-srv)',
    protocol: 'ftp',
    async start() {
      const ftp: TestFtpServer = kind === 'vsftpd' ? await startVsftpd() : await startFtpSrv();
      const path = (name: string) => join(ftp.root, 'contract', name);
      await mkdir(join(ftp.root, 'contract'), { recursive: true });
      return {
        proxyPort: undefined,
        base: ftp.url,
        uri: (base, name) => `${base}contract/${name}`,
        method: 'STOR',
        extras: { resumeProtocol: 'auto', serverCredential: ftp.login },
        stored: (name) => sha256File(path(name)),
        diskPath: path,
        async cutSessions() {
          await ftp.cutSessions();
        },
        forget: (name) => unlink(path(name)),
        holds: { cannot: 'FTP has no termination: a canceled upload leaves its partial file on the server' },
        clientError: {
          cannot: "RFC 959's transient 4xx replies (450, 452) cannot be provoked on either server without changing it",
        },
        // A file where a directory is needed: 550/553, a permanent reply.
        serverError: {
          async arrange(name) {
            await writeFile(join(ftp.root, 'contract', `blocker-${name}`), 'a file');
            return `${ftp.url}contract/blocker-${name}/file.bin`;
          },
          outcome: { code: 'BT_ERR_FTP_PERMANENT' },
        },
        stop: () => ftp.stop(),
      };
    },
  };
}

export const CONTRACT_ROWS: readonly ContractRow[] = [
  tusRow(),
  ietfRow(6),
  ietfRow(8),
  nodeHttpRow(),
  nginxRow(),
  ftpRow('vsftpd'),
  ftpRow('ftp-srv'),
];
