import { redactUrl } from '../core/redact.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import { statusName } from './format.ts';

/**
 * One `bgtransfer list --json` line (docs/api/cli.md), written as text: guid, `direction`, the progress
 * fields of that kind of operation (a download's have no bytesSent/totalBytesToSend), statusName,
 * method, requestedUri, group, createdAt and, when the snapshot carries one, `error: { code, message }`.
 * The text is what JSON.stringify of that object writes; building it here skips the two objects per
 * line (the entry and its progress copy) that were a tenth of a 10,000-operation `list --json`'s CPU.
 * Every string goes through JSON.stringify, so quotes, control characters and lone surrogates are
 * escaped exactly as before. The whole output is redacted once more as it is written (writeLine).
 */
export function listLine(snapshot: OperationSnapshot): string {
  const { progress } = snapshot;
  const download = snapshot.direction === 'download';
  const sent = download
    ? ''
    : `"bytesSent":${number(progress.bytesSent)},"totalBytesToSend":${number(progress.totalBytesToSend)},`;
  const error = snapshot.error
    ? `,"error":{"code":${JSON.stringify(snapshot.error.code)},"message":${JSON.stringify(snapshot.error.message)}}`
    : '';
  return (
    `{"guid":${JSON.stringify(snapshot.guid)},"direction":${download ? '"download"' : '"upload"'},${sent}` +
    `"bytesReceived":${number(progress.bytesReceived)},"totalBytesToReceive":${number(progress.totalBytesToReceive)},` +
    `"status":${number(progress.status)},"hasResponseChanged":${progress.hasResponseChanged},` +
    `"hasRestarted":${progress.hasRestarted},"statusName":${JSON.stringify(statusName(progress.status))},` +
    `"method":${JSON.stringify(snapshot.method)},"requestedUri":${JSON.stringify(redactUrl(snapshot.requestedUri))},` +
    `"group":${snapshot.group === null ? 'null' : JSON.stringify(snapshot.group)},` +
    `"createdAt":"${new Date(snapshot.createdAtMs).toISOString()}"${error}}`
  );
}

/** A number as JSON writes it: the same digits as String(), null for NaN and the infinities. */
function number(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}
