import cliProgress from 'cli-progress';
import { redactText } from '../core/redact.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import { type BarFields, fitBarLine, wrapToWidth } from './bar-line.ts';
import { writeLine } from './context.ts';
import {
  formatAmount,
  formatBytes,
  formatDuration,
  formatRate,
  progressJson,
  shortGuid,
  statusName,
} from './format.ts';
import { RateMeter } from './rate-meter.ts';
import { amountOf, kindOf } from './transfer-kind.ts';

/**
 * How `upload`, `download` and `watch` show progress: a live bar on a TTY, plain lines at most once a second
 * when stdout is not a TTY, one JSON object per line with --json (docs/api/cli.md).
 */
export interface ProgressView {
  update(snapshot: OperationSnapshot): void;
  /** A human message (reconnecting, restarted…): above the bars, among the lines, or on stderr for JSON. */
  note(message: string): void;
  /** Stops redrawing; must be called, or the bar's timer keeps the process alive. */
  close(): void;
}

export type ViewMode = 'tty' | 'plain' | 'json';

export interface ViewOptions {
  mode: ViewMode;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** What names an operation in its bar or line (the file for `upload`/`download`, guid and file for `watch`). */
  label: (snapshot: OperationSnapshot) => string;
}

export function chooseViewMode(json: boolean, stdout: NodeJS.WriteStream): ViewMode {
  if (json) return 'json';
  return stdout.isTTY ? 'tty' : 'plain';
}

export function createProgressView(options: ViewOptions): ProgressView {
  if (options.mode === 'json') return new JsonView(options);
  if (options.mode === 'plain') return new PlainView(options);
  return new TtyView(options);
}

/** What every view derives from the snapshots of one operation: rate, ETA, restarts. */
export class Track {
  readonly meter = new RateMeter();
  lastStatus: number | undefined;
  lastBytes = 0;
  lastHasRestarted = false;
  /** The most bytes the current request was seen to move; a restart loses these. */
  movedThisRequest = 0;
  /** The old request's count, while snapshots after a restart flag still show it. */
  oldRequestBytes: number | undefined;
  lastPrintedAt = Number.NEGATIVE_INFINITY;

  /**
   * Feeds a snapshot; returns true when the transfer went back to byte 0 after moving bytes (R38: a
   * restarted upload is sent whole; D20: a download whose server cannot resume starts over). The flag
   * may be repeated by several snapshots (a probe re-reads it), so only its rise counts. A request that
   * ended before its first byte (a refused connection) flags a restart too, but moved nothing that is
   * moved again, so it is not reported.
   */
  observe(snapshot: OperationSnapshot, nowMs: number): boolean {
    const { hasRestarted } = snapshot.progress;
    const { done } = amountOf(snapshot);
    const dropped = done < this.lastBytes;
    const wentBack = (hasRestarted && !this.lastHasRestarted) || dropped;
    const restarted = wentBack && this.movedThisRequest > 0;
    // The flag can rise while the count still shows the old request's bytes, in one snapshot or several
    // (the drop to 0 comes later): the new request has moved nothing yet, so that drop is not a second
    // restart. Only a count above the old one is the new request's own.
    if (wentBack) this.oldRequestBytes = dropped ? undefined : done;
    else if (this.oldRequestBytes !== undefined && done > this.oldRequestBytes) this.oldRequestBytes = undefined;
    if (wentBack) this.movedThisRequest = dropped ? done : 0;
    else if (this.oldRequestBytes === undefined) this.movedThisRequest = Math.max(this.movedThisRequest, done);
    this.meter.sample(done, nowMs);
    this.lastBytes = done;
    this.lastHasRestarted = hasRestarted;
    return restarted;
  }

  eta(snapshot: OperationSnapshot): string {
    const { done, total } = amountOf(snapshot);
    return formatDuration(this.meter.etaSeconds(done, total));
  }
}

function restartNote(snapshot: OperationSnapshot): string {
  return kindOf(snapshot) === 'download'
    ? `download ${shortGuid(snapshot.guid)} restarted from byte 0 (the server did not resume it: it ignores ranges or the file changed, D20)`
    : `upload ${shortGuid(snapshot.guid)} restarted from byte 0 (without a resumable server an interrupted upload is sent again whole, R38)`;
}

class TtyView implements ProgressView {
  readonly #options: ViewOptions;
  readonly #bars: cliProgress.MultiBar;
  readonly #tracks = new Map<string, { track: Track; bar: cliProgress.SingleBar }>();

  constructor(options: ViewOptions) {
    this.#options = options;
    this.#bars = new cliProgress.MultiBar({
      stream: options.stdout,
      // Built to fit the terminal (bar-line.ts): cli-progress would cut the line, status last, at its edge.
      // The payload is what update() passes, always a BarFields without the fraction.
      format: (_options, params, payload: Omit<BarFields, 'fraction'>) =>
        fitBarLine({ ...payload, fraction: params.progress }, params.maxWidth),
      hideCursor: true,
      autopadding: true,
      clearOnComplete: false,
      // Ctrl-C is ours: it detaches (upload.ts), and close() restores the cursor.
      gracefulExit: false,
    });
  }

  update(snapshot: OperationSnapshot): void {
    const { progress } = snapshot;
    const amount = amountOf(snapshot);
    let entry = this.#tracks.get(snapshot.guid);
    if (!entry) {
      entry = { track: new Track(), bar: this.#bars.create(Math.max(amount.total, 1), 0) };
      this.#tracks.set(snapshot.guid, entry);
    }
    const { track, bar } = entry;
    if (track.observe(snapshot, performance.now())) this.note(restartNote(snapshot));
    track.lastStatus = progress.status;
    bar.setTotal(Math.max(amount.total, 1));
    bar.update(amount.done, {
      label: this.#options.label(snapshot),
      sentText: formatBytes(amount.done),
      totalText: formatBytes(amount.total),
      rateText: formatRate(track.meter.bytesPerSecond()),
      etaText: track.eta(snapshot),
      statusText: statusName(progress.status),
    });
  }

  note(message: string): void {
    // cli-progress writes to the stream itself, past writeLine and its redaction; it also turns the
    // terminal's line wrapping off, so the message is wrapped here.
    this.#bars.log(`${wrapToWidth(redactText(message), this.#options.stdout.columns ?? 80)}\n`);
  }

  close(): void {
    // update() flushes notes logged since the last redraw; stop() alone would drop them.
    this.#bars.update();
    this.#bars.stop();
  }
}

/** Plain lines for logs and pipes: on a status change, and at most once a second otherwise. */
class PlainView implements ProgressView {
  static readonly intervalMs = 1_000;
  readonly #options: ViewOptions;
  readonly #tracks = new Map<string, Track>();

  constructor(options: ViewOptions) {
    this.#options = options;
  }

  update(snapshot: OperationSnapshot): void {
    let track = this.#tracks.get(snapshot.guid);
    if (!track) {
      track = new Track();
      this.#tracks.set(snapshot.guid, track);
    }
    const now = performance.now();
    if (track.observe(snapshot, now)) this.note(restartNote(snapshot));
    const statusChanged = track.lastStatus !== snapshot.progress.status;
    track.lastStatus = snapshot.progress.status;
    if (!statusChanged && now - track.lastPrintedAt < PlainView.intervalMs) return;
    track.lastPrintedAt = now;
    const { progress } = snapshot;
    writeLine(
      this.#options.stdout,
      [
        this.#options.label(snapshot),
        statusName(progress.status),
        formatAmount(snapshot),
        formatRate(track.meter.bytesPerSecond()),
        `ETA ${track.eta(snapshot)}`,
      ].join('  '),
    );
  }

  note(message: string): void {
    writeLine(this.#options.stdout, message);
  }

  close(): void {}
}

/** One JSON object per snapshot (consecutive duplicates dropped); messages go to stderr. */
class JsonView implements ProgressView {
  readonly #options: ViewOptions;
  readonly #lastLine = new Map<string, string>();

  constructor(options: ViewOptions) {
    this.#options = options;
  }

  update(snapshot: OperationSnapshot): void {
    const line = progressJson(snapshot);
    if (this.#lastLine.get(snapshot.guid) === line) return;
    this.#lastLine.set(snapshot.guid, line);
    writeLine(this.#options.stdout, line);
  }

  note(message: string): void {
    writeLine(this.#options.stderr, `bgtransfer: ${message}`);
  }

  close(): void {}
}
