import { partialPathOf } from '../core/download-paths.ts';
import { TransferError, toTransferError } from '../core/errors.ts';
import { downloadFtp, type FtpDownloadStart, requestMessage } from '../protocols/download-protocol.ts';
import { Checkpoints } from './download-checkpoints.ts';
import { DownloadHashing } from './download-hashing.ts';
import { discardPartial, diskFullOr, preparePartial } from './download-partial.ts';
import type { AttemptContext, AttemptOutcome } from './run-attempt.ts';
import {
  complete,
  type DownloadSession,
  failed,
  newDownloadSession,
  recordDurable,
  saveSession,
  sessionOf,
} from './run-download.ts';

/**
 * One attempt of an `ftp://` or `ftps://` download (docs/downloads.md, "FTP"): the same partial file,
 * checkpoints, digest check and rename as an HTTP download (run-download.ts); SIZE and MDTM stand in
 * for the validator, `REST <offset>` for the range request. FTP has no response to keep (R43 does not
 * apply), so no ResponseInformation is recorded, as for FTP uploads.
 */
export async function runFtpDownload(context: AttemptContext): Promise<AttemptOutcome> {
  const { live, config } = context;
  const resultPath = live.record.resultPath;
  if (resultPath === null) {
    return failed(new TransferError('BT_ERR_INTERNAL', `download ${live.record.guid} has no result file`));
  }
  const partialPath = partialPathOf(resultPath, live.record.guid);
  const stall = new AbortController();
  const signal = AbortSignal.any([live.controller.signal, stall.signal]);
  const url = new URL(live.record.requestedUri);
  const hashing = new DownloadHashing();
  const checkpoints = new Checkpoints({
    partialPath,
    stallTimeoutMs: config.stallTimeoutMs,
    onStall: (error) => stall.abort(error),
    describe: () => requestMessage('FTP RETR', url, 'the download'),
    onDurable: (size) => recordDurable(context, size),
  });
  try {
    live.bytesSent = 0;
    const session = sessionOf(context);
    // Without a validator nothing vouches that the bytes on disk belong to the file the server has today.
    const trusted = session.validator ? live.record.ackOffset : 0;
    const offset = await preparePartial(partialPath, trusted);
    recordDurable(context, offset);
    const appDigest = live.record.extras.expectedContentDigest;
    await hashing.prime(partialPath, offset, [appDigest]);
    live.totalBytesToReceive = session.totalBytes ?? 0;
    const result = await downloadFtp({
      url,
      credentials: live.record.extras.serverCredential,
      signal,
      connectTimeoutMs: config.connectTimeoutMs,
      stallTimeoutMs: config.stallTimeoutMs,
      extraCaCertificates: context.extraCaCertificates,
      offset,
      validator: session.validator ?? null,
      partialPath,
      onStart: (start) => {
        acceptStart(context, start, offset, session);
        checkpoints.start();
      },
      hashFor: (fromStart) => hashing.sinkFor(fromStart, [appDigest]),
    });
    const durable = await checkpoints.finish();
    const end = result.from + result.bytesWritten;
    if (durable !== end) {
      throw new TransferError('BT_ERR_IO', `the partial file ${partialPath} holds ${durable} bytes, expected ${end}`);
    }
    return await complete(context, partialPath, resultPath, result.from === 0, hashing);
  } catch (error) {
    await checkpoints.finish().catch(() => undefined);
    const coded = toTransferError(diskFullOr(error), 'BT_ERR_NETWORK');
    // The write stream may have created the file again after the cancel removed it.
    if (live.stopReason === 'cancel') await discardPartial(partialPath).catch(() => undefined);
    return failed(coded);
  }
}

/** Where the attempt writes from, before a byte is written: the new resume state and the progress. */
function acceptStart(context: AttemptContext, start: FtpDownloadStart, offset: number, session: DownloadSession): void {
  const { live } = context;
  saveSession(context, {
    ...newDownloadSession(),
    validator: start.validator,
    totalBytes: start.total,
    ...(session.digestRetried ? { digestRetried: true } : {}),
  });
  live.totalBytesToReceive = start.total ?? 0;
  if (start.from === 0) {
    if (offset > 0) {
      // R38/R39 for downloads, as for an HTTP 200 to a range request: the bytes on disk are dropped.
      live.hasRestarted = true;
      live.hasResponseChanged = true;
      context.onRestarted();
    }
    recordDurable(context, 0);
  }
  live.dirty = true;
}
