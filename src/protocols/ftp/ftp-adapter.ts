import type { UploadProtocol, UploadSession } from '../upload-protocol.ts';

/**
 * FTP and explicit FTPS as an UploadProtocol. The session has no URL: it says an earlier attempt
 * reached the server, so the next one asks it how much it has (SIZE) and appends the rest; with APPE
 * it also keeps the remote size before the upload appended anything.
 */
export const ftpProtocol: UploadProtocol = {
  name: 'ftp',
  schemes: ['ftp:', 'ftps:'],
  remembered: [],
  capabilities: { resumable: true, reprDigest: false, terminates: false, keepsCutCreation: false },
  async upload(attempt) {
    // Loaded only for FTP uploads: basic-ftp costs ~12 MB of memory an HTTP-only app never needs.
    const { uploadFtp } = await import('./ftp-upload.ts');
    const session = attempt.session;
    let stored = session !== null;
    const save = (next: UploadSession) => {
      stored = true;
      attempt.onSession(next);
    };
    // The first sign of the server having part of the file makes the upload one to continue.
    const reached = () => {
      if (!stored) save({ protocol: 'ftp', uploadUrl: null });
    };
    await uploadFtp({
      url: attempt.url,
      method: attempt.method,
      credentials: attempt.credentials,
      body: attempt.body,
      signal: attempt.signal,
      connectTimeoutMs: attempt.connectTimeoutMs,
      stallTimeoutMs: attempt.stallTimeoutMs,
      extraCaCertificates: attempt.extraCaCertificates,
      resume: session !== null,
      appendBase: session?.appendBase ?? undefined,
      onAppendBase: (remoteSize) => save({ protocol: 'ftp', uploadUrl: null, appendBase: remoteSize }),
      onOffset: (offset) => {
        reached();
        attempt.onOffset(offset);
      },
      onBytesSent: (absolute) => {
        reached();
        attempt.onBytesSent(absolute);
      },
      onRestart: () => attempt.onRestarted(),
    });
    // FTP has no response to keep (R43 does not apply).
    return undefined;
  },
};
