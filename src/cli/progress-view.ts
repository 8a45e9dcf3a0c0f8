import type { OperationSnapshot } from '../core/snapshot.ts';
import { writeLine } from './context.ts';
import { formatAmount, formatRate, progressJson, statusName } from './format.ts';
import { restartNote, Track } from './progress-track.ts';

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

/** The bar's module (with cli-progress) is loaded only for a TTY: pipes and scripts never need it. */
export async function createProgressView(options: ViewOptions): Promise<ProgressView> {
  if (options.mode === 'json') return new JsonView(options);
  if (options.mode === 'plain') return new PlainView(options);
  const { TtyView } = await import('./tty-view.ts');
  return new TtyView(options);
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
