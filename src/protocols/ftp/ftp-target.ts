import { TransferError } from '../../core/errors.ts';
import type { FtpCredentials, FtpStoreCommand } from './ftp-upload-types.ts';

/** Where an FTP transfer goes and as whom, taken apart from the URL once. */
export interface FtpLocation {
  host: string;
  port: number;
  /** Explicit FTPS (AUTH TLS on the control port). */
  secure: boolean;
  /** Directories to enter (and create) below the login directory, decoded, in order. */
  directories: string[];
  fileName: string;
  user: string;
  password: string;
  /** Strings no message may contain: the given password (not the anonymous default). */
  secrets: string[];
  /** `ftp://host:port/path` without user info: safe for messages and logs. */
  display: string;
}

/** Where an FTP upload goes, and with which command. */
export interface FtpTarget extends FtpLocation {
  command: FtpStoreCommand;
}

const DEFAULT_PORT = 21;
/** basic-ftp's own defaults; anonymous FTP asks for any password (traditionally an e-mail address). */
const ANONYMOUS_USER = 'anonymous';
const ANONYMOUS_PASSWORD = 'guest';
/** A path segment reaches the server inside a command line: line breaks would inject commands. */
const FORBIDDEN_IN_NAME = /[\r\n\0]/;

export function resolveFtpTarget(url: URL, method: string, credentials: FtpCredentials | null): FtpTarget {
  const location = resolveFtpLocation(url, credentials);
  const command = method.toUpperCase();
  if (command !== 'STOR' && command !== 'APPE') {
    throw new TransferError('BT_ERR_INVALID_METHOD', `FTP uploads use STOR or APPE, not "${method}"`);
  }
  return { ...location, command };
}

/** The server, path and login of an `ftp://` or `ftps://` URL (uploads and downloads alike). */
export function resolveFtpLocation(url: URL, credentials: FtpCredentials | null): FtpLocation {
  if (url.protocol !== 'ftp:' && url.protocol !== 'ftps:') {
    throw new TransferError('BT_ERR_UNSUPPORTED_SCHEME', `not an ftp:// or ftps:// URI: ${url.protocol}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? DEFAULT_PORT : Number(url.port);
  const display = `${url.protocol}//${url.host}${url.pathname}`;
  if (host === '') throw new TransferError('BT_ERR_INVALID_URI', `the FTP URI has no host: ${display}`);

  // RFC 1738 §3.2.2: every segment is a CWD relative to the login directory; an empty segment
  // (`//`) means no CWD. A leading `%2F` makes the path absolute, which `CWD /…` does as is.
  const segments = url.pathname
    .split('/')
    .slice(1)
    .map((segment) => decodeSegment(segment, display));
  const fileName = segments.pop() ?? '';
  if (fileName === '') throw new TransferError('BT_ERR_INVALID_URI', `the FTP URI names no file: ${display}`);

  const login = credentials ?? credentialsFromUrl(url);
  return {
    host,
    port,
    secure: url.protocol === 'ftps:',
    directories: segments.filter((segment) => segment !== ''),
    fileName,
    user: login?.userName ?? ANONYMOUS_USER,
    password: login?.password ?? ANONYMOUS_PASSWORD,
    secrets: login === null || login.password === '' ? [] : [login.password],
    display,
  };
}

function credentialsFromUrl(url: URL): FtpCredentials | null {
  if (url.username === '') return null;
  return {
    userName: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
}

function decodeSegment(segment: string, display: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch (error) {
    throw new TransferError('BT_ERR_INVALID_URI', `bad percent-encoding in the FTP path: ${display}`, {
      cause: error,
    });
  }
  if (FORBIDDEN_IN_NAME.test(decoded)) {
    throw new TransferError('BT_ERR_INVALID_URI', `the FTP path has a line break or NUL: ${display}`);
  }
  return decoded;
}
