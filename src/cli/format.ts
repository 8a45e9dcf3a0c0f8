import { BackgroundTransferStatus } from '../core/enums.ts';
import type { OperationSnapshot, ProgressSnapshot } from '../core/snapshot.ts';
import { type Amount, amountOf, kindOf } from './transfer-kind.ts';

/** Pure text formatting for the command's output; nothing here writes. */

const STATUS_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(BackgroundTransferStatus).map(([name, value]) => [value, name]),
);

/** The camelCase enum member name (docs/api/enums.md), e.g. 5 → "completed". */
export function statusName(status: number): string {
  return STATUS_NAMES.get(status) ?? `status ${status}`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 67108864 → "64.0 MiB"; bytes below 1 KiB are printed exactly. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatRate(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? '-- B/s' : `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** Seconds as "7s", "2m05s", "1h02m"; null (unknown) as "--". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--';
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** "18.8%", or "--" while the size is unknown. */
export function formatPercent(amount: Amount): string {
  if (amount.total <= 0) return '--';
  return `${((amount.done / amount.total) * 100).toFixed(1)}%`;
}

/** Enough of a guid to tell uploads apart in a line of progress. */
export function shortGuid(guid: string): string {
  return guid.slice(0, 8);
}

/**
 * One `--json` line: the fields of BackgroundUploadProgress, or of BackgroundDownloadProgress for a
 * download, plus `guid` (docs/api/cli.md). A failed operation's line also carries `error`
 * ({ code, message }), so a script needs no second call.
 */
export function progressJson(snapshot: OperationSnapshot): string {
  const line: Record<string, unknown> = { guid: snapshot.guid, ...progressFields(snapshot) };
  if (snapshot.error && snapshot.progress.status === BackgroundTransferStatus.error) {
    line.error = { code: snapshot.error.code, message: snapshot.error.message };
  }
  return JSON.stringify(line);
}

/** "12.0 MiB / 64.0 MiB (18.8%)": sent of an upload, received of a download. */
export function formatAmount(snapshot: OperationSnapshot): string {
  const amount = amountOf(snapshot);
  return `${formatBytes(amount.done)} / ${formatBytes(amount.total)} (${formatPercent(amount)})`;
}

/** The progress object the API shows for this operation: a download has no bytesSent/totalBytesToSend. */
export function progressFields(snapshot: OperationSnapshot): Partial<ProgressSnapshot> {
  if (kindOf(snapshot) === 'upload') return { ...snapshot.progress };
  const { bytesSent: _sent, totalBytesToSend: _total, ...download } = snapshot.progress;
  return download;
}
