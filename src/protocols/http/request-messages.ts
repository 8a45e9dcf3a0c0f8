/**
 * How error messages name a request and what happened to it, in plain words:
 * `PATCH http://host/files/abc: the connection was reset by the server after 3.2 MiB of the body`.
 * Every message about a request goes through `requestLabel`, the one place that turns a URL into
 * text, so that hiding secrets in URLs can be applied there once.
 */

/** `METHOD url`, the URL without user info (a password never goes into a message). */
export function requestLabel(method: string, url: URL | string): string {
  return `${method} ${urlText(url)}`;
}

/** The URL as shown in messages: user name and password removed. */
export function urlText(url: URL | string): string {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : new URL(url.href);
  } catch {
    return String(url);
  }
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

/** `PUT http://h/x: what`, the form of every request-level message. */
export function requestMessage(method: string, url: URL | string, what: string): string {
  return `${requestLabel(method, url)}: ${what}`;
}

/** A byte count for people: `512 bytes`, `64.0 KiB`, `3.2 MiB`, `1.50 GiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return bytes === 1 ? '1 byte' : `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  return `${(bytes / (1024 * 1024 * 1024)).toFixed(2)} GiB`;
}
