import type { OperationSnapshot } from '../core/snapshot.ts';
import { formatDuration, shortGuid } from './format.ts';
import { RateMeter } from './rate-meter.ts';
import { amountOf, kindOf } from './transfer-kind.ts';

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

export function restartNote(snapshot: OperationSnapshot): string {
  return kindOf(snapshot) === 'download'
    ? `download ${shortGuid(snapshot.guid)} restarted from byte 0 (the server did not resume it: it ignores ranges or the file changed, D20)`
    : `upload ${shortGuid(snapshot.guid)} restarted from byte 0 (without a resumable server an interrupted upload is sent again whole, R38)`;
}
