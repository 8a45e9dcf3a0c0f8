/**
 * The proxy variables an upload takes from the app that creates it (config `proxy` "auto"). They are
 * captured per upload rather than read by the host, whose environment is its own (it is shared by
 * every app of the user: two apps with different proxies each get theirs).
 */
export const PROXY_VARIABLES: readonly string[] = [
  'http_proxy',
  'HTTP_PROXY',
  'https_proxy',
  'HTTPS_PROXY',
  'no_proxy',
  'NO_PROXY',
];

/** The proxy variables set in `env` (possibly none). Values may hold credentials: stored, never logged. */
export function captureProxyEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const captured: Record<string, string> = {};
  for (const name of PROXY_VARIABLES) {
    const value = env[name];
    if (value !== undefined) captured[name] = value;
  }
  return captured;
}
