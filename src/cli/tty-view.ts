import cliProgress from 'cli-progress';
import { redactText } from '../core/redact.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import { type BarFields, fitBarLine, wrapToWidth } from './bar-line.ts';
import { formatBytes, formatRate, statusName } from './format.ts';
import { restartNote, Track } from './progress-track.ts';
import type { ProgressView, ViewOptions } from './progress-view.ts';
import { amountOf } from './transfer-kind.ts';

/** The live bar of a TTY (progress-view.ts); cli-progress is loaded only when stdout is one. */
export class TtyView implements ProgressView {
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
