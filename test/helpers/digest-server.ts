import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { listenOnLoopback } from './loopback.ts';

/**
 * How a path is protected, chosen by its first segment:
 * `/basic/…` Basic (RFC 7617); `/md5/…`, `/sha256/…`, `/md5-sess/…`, `/sha256-sess/…` Digest with
 * that algorithm and qop=auth (RFC 7616); `/prefer/…` challenges `Basic`, then `Digest SHA-256`, then
 * `Digest MD5` but accepts Digest only; anything else is open.
 */
export type Protection = 'basic' | 'digest' | 'open';

/** One request as the server judged it; body fields update while the body streams in. */
export interface AuthRecord {
  method: string;
  /** Path and query as sent. */
  url: string;
  /** `Authorization` as received, or null. */
  authorization: string | null;
  /** Lower-cased scheme of `Authorization`, or null. */
  scheme: string | null;
  /** The Digest parameters the client sent (names lower-cased, values unquoted), or null. */
  digest: Record<string, string> | null;
  /** ok: authenticated; missing: no or other-scheme credentials; wrong: bad credentials; stale: stale nonce. */
  outcome: 'ok' | 'missing' | 'wrong' | 'stale' | 'open';
  /** The answer's status (0 while the request is handed to `next`). */
  status: number;
  bodyBytes: number;
  /** Hex sha256 of the body once it ended (requests handed to `next` are not read here). */
  sha256: string | null;
}

export interface DigestServerOptions {
  userName: string;
  password: string;
  realm?: string;
  /** Serve HTTPS with this key pair. */
  tls?: { key: string; cert: string };
  /** Answer a 401 when the headers arrive (default, like nginx) rather than after reading the body. */
  challengeBeforeBody?: boolean;
  /** A nonce turns stale after this many accepted uses (0: every nonce is stale at once); default never. */
  nonceUses?: number;
  /**
   * Check a request's `Repr-Digest: sha-256=:…:` against the body received: a mismatch is answered
   * 400 with an `application/problem+json` body of type `…#digest-mismatch` (the httpapi draft's
   * problem type for digest fields), and counts in `digestMismatches`.
   */
  checkReprDigest?: boolean;
  /** Authenticated requests go here unread (e.g. @tus/server's handle); default: 201 `{sha256, bytes}`. */
  next?: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface DigestServer {
  /** Base URL without a trailing slash. */
  url: string;
  port: number;
  requests: AuthRecord[];
  /** Requests answered 400 because the body did not match their Repr-Digest (`checkReprDigest`). */
  digestMismatches(): number;
  /** Every nonce issued so far turns stale: its next correct use gets `401 … stale=true`. */
  expireNonces(): void;
  close(): Promise<void>;
}

interface NonceState {
  algorithm: string;
  opaque: string;
  /** The highest nc seen: a repeated or lower one is a replay (RFC 7616 §3.4). */
  lastNc: number;
  uses: number;
  stale: boolean;
}

const HASHES: Readonly<Record<string, string>> = { md5: 'md5', 'sha-256': 'sha256' };

/**
 * A loopback server that demands credentials, written from RFC 7616/7617 independently of the
 * client code: it recomputes each Digest response from the method, uri, nc and cnonce it received,
 * checks that nc increases per nonce, echoes opaque, and hashes every body it reads.
 */
export async function startDigestServer(options: DigestServerOptions): Promise<DigestServer> {
  const realm = options.realm ?? 'bgtransfer test';
  const nonces = new Map<string, NonceState>();
  const requests: AuthRecord[] = [];
  let mismatches = 0;

  const issue = (algorithm: string): string => {
    const nonce = randomBytes(18).toString('base64');
    const opaque = randomBytes(12).toString('hex');
    nonces.set(nonce, { algorithm, opaque, lastNc: 0, uses: 0, stale: options.nonceUses === 0 });
    return nonce;
  };
  const digestChallenge = (algorithm: string, stale: boolean): string => {
    const nonce = issue(algorithm);
    const state = nonces.get(nonce)!;
    const staleParam = stale ? ', stale=true' : '';
    return `Digest realm="${realm}", qop="auth", algorithm=${algorithm}, nonce="${nonce}", opaque="${state.opaque}"${staleParam}`;
  };

  const judge = (
    req: IncomingMessage,
    record: AuthRecord,
  ): { outcome: AuthRecord['outcome']; challenges: string[] } => {
    const route = (req.url ?? '/').split('/')[1] ?? '';
    const algorithms = digestRoutes[route];
    if (route === 'basic') {
      const expected = `Basic ${Buffer.from(`${options.userName}:${options.password}`).toString('base64')}`;
      if (record.authorization === expected) return { outcome: 'ok', challenges: [] };
      return { outcome: record.scheme === 'basic' ? 'wrong' : 'missing', challenges: [`Basic realm="${realm}"`] };
    }
    if (algorithms === undefined) return { outcome: 'open', challenges: [] };
    const fresh = (stale: boolean): string[] => [
      ...(route === 'prefer' ? [`Basic realm="${realm}"`] : []),
      ...algorithms.map((algorithm) => digestChallenge(algorithm, stale)),
    ];
    if (record.digest === null) return { outcome: 'missing', challenges: fresh(false) };
    const verdict = verifyDigest(req, record.digest, nonces, options, realm, algorithms);
    return { outcome: verdict, challenges: verdict === 'ok' ? [] : fresh(verdict === 'stale') };
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    req.on('error', () => {});
    res.on('error', () => {});
    const authorization = req.headers.authorization ?? null;
    const scheme = authorization?.split(' ')[0]?.toLowerCase() ?? null;
    const record: AuthRecord = {
      method: req.method ?? '',
      url: req.url ?? '',
      authorization,
      scheme,
      digest: scheme === 'digest' && authorization !== null ? parseParams(authorization.slice(7)) : null,
      outcome: 'missing',
      status: 0,
      bodyBytes: 0,
      sha256: null,
    };
    requests.push(record);
    const { outcome, challenges } = judge(req, record);
    record.outcome = outcome;
    const accepted = outcome === 'ok' || outcome === 'open';
    if (accepted && options.next !== undefined) {
      options.next(req, res);
      return;
    }
    const bodyDone = readBody(req, record);
    const answer = (): void => {
      if (res.headersSent || req.socket.destroyed) return;
      if (accepted && options.checkReprDigest && !matchesReprDigest(req, record)) {
        mismatches += 1;
        const problem = JSON.stringify({
          type: 'https://iana.org/assignments/http-problem-types#digest-mismatch',
          title: 'The Repr-Digest does not match the representation received',
        });
        record.status = 400;
        res.writeHead(400, {
          'Content-Type': 'application/problem+json',
          'Content-Length': Buffer.byteLength(problem),
          // A new connection for the next request: a test's fault plan then applies to each re-send.
          Connection: 'close',
        });
        res.end(problem);
        return;
      }
      if (accepted) {
        const body = JSON.stringify({ sha256: record.sha256, bytes: record.bodyBytes });
        record.status = 201;
        res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      record.status = 401;
      const headers: string[] = ['Content-Type', 'text/plain', 'Content-Length', '12'];
      for (const challenge of challenges) headers.push('WWW-Authenticate', challenge);
      res.writeHead(401, headers);
      res.end('unauthorized');
    };
    if (!accepted && options.challengeBeforeBody !== false) answer();
    else void bodyDone.then(answer);
  };

  const server: Server = options.tls ? createHttpsServer(options.tls, onRequest) : createHttpServer(onRequest);
  server.on('clientError', (_error, socket) => socket.destroy());
  const { port, url } = await listenOnLoopback(server, options.tls ? 'https' : 'http');
  return {
    url,
    port,
    requests,
    digestMismatches: () => mismatches,
    expireNonces() {
      for (const state of nonces.values()) state.stale = true;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** First path segment → the Digest algorithms challenged, in order of preference. */
const digestRoutes: Readonly<Record<string, readonly string[]>> = {
  md5: ['MD5'],
  sha256: ['SHA-256'],
  'md5-sess': ['MD5-sess'],
  'sha256-sess': ['SHA-256-sess'],
  prefer: ['SHA-256', 'MD5'],
};

function verifyDigest(
  req: IncomingMessage,
  params: Record<string, string>,
  nonces: Map<string, NonceState>,
  options: DigestServerOptions,
  realm: string,
  algorithms: readonly string[],
): 'ok' | 'wrong' | 'stale' {
  const nonce = params.nonce ?? '';
  const state = nonces.get(nonce);
  const algorithm = params.algorithm ?? 'MD5';
  if (state === undefined || state.algorithm !== algorithm || !algorithms.includes(algorithm)) return 'wrong';
  if (params.username !== options.userName || params.realm !== realm || params.uri !== req.url) return 'wrong';
  if (params.qop !== 'auth' || params.opaque !== state.opaque || !params.cnonce) return 'wrong';
  if (!/^[0-9a-f]{8}$/.test(params.nc ?? '')) return 'wrong';
  const nc = Number.parseInt(params.nc ?? '', 16);
  const lower = algorithm.toLowerCase();
  const session = lower.endsWith('-sess');
  const hashName = HASHES[session ? lower.slice(0, -5) : lower]!;
  const h = (data: string): string => createHash(hashName).update(data).digest('hex');
  let ha1 = h(`${options.userName}:${realm}:${options.password}`);
  if (session) ha1 = h(`${ha1}:${nonce}:${params.cnonce}`);
  const ha2 = h(`${req.method}:${params.uri}`);
  const expected = h(`${ha1}:${nonce}:${params.nc}:${params.cnonce}:auth:${ha2}`);
  if (params.response !== expected) return 'wrong';
  // RFC 7616 §3.3 stale: "the client knows the credentials", only the nonce is old.
  if (state.stale) return 'stale';
  if (nc <= state.lastNc) return 'wrong';
  state.lastNc = nc;
  state.uses += 1;
  if (options.nonceUses !== undefined && state.uses >= options.nonceUses) state.stale = true;
  return 'ok';
}

/** `name=value, name="quoted"` → a record (names lower-cased, values unquoted). */
function parseParams(text: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const match of text.matchAll(/([A-Za-z*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[(match[1] ?? '').toLowerCase()] =
      match[2] === undefined ? (match[3] ?? '') : match[2].replace(/\\(.)/g, '$1');
  }
  return params;
}

/** Reads and hashes the body; resolves when it ended or the connection closed. */
function readBody(req: IncomingMessage, record: AuthRecord): Promise<void> {
  const hash = createHash('sha256');
  return new Promise<void>((resolve) => {
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      record.bodyBytes += chunk.length;
    });
    req.on('end', () => {
      record.sha256 = hash.digest('hex');
      resolve();
    });
    req.on('close', () => resolve());
  });
}

/** Whether the body's SHA-256 (hex in `record.sha256`) is the one `Repr-Digest` names; no header: true. */
function matchesReprDigest(req: IncomingMessage, record: AuthRecord): boolean {
  const header = req.headers['repr-digest'];
  if (typeof header !== 'string') return true;
  const sent = /sha-256=:([^:]*):/.exec(header)?.[1];
  if (sent === undefined || record.sha256 === null) return false;
  return Buffer.from(sent, 'base64').toString('hex') === record.sha256;
}
