/**
 * A user name and password (R65: `serverCredential` / `proxyCredential`, a WinRT PasswordCredential).
 * Neither value may ever appear in an error message or a log line.
 */
export interface HttpCredential {
  readonly userName: string;
  readonly password: string;
}

/**
 * The `Basic` credentials of RFC 7617 §2: base64 of `user-id ":" password`, encoded as UTF-8 (the
 * only charset §2.1 allows a server to ask for, and what every current client sends).
 * Returns null when the user name contains a colon: "a user-id containing a colon character is
 * invalid" (§2), since the server splits at the first one.
 */
export function basicAuthorization(credential: HttpCredential): string | null {
  if (credential.userName.includes(':')) return null;
  const token = Buffer.from(`${credential.userName}:${credential.password}`, 'utf8').toString('base64');
  return `Basic ${token}`;
}
