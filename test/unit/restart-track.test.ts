import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Track } from '../../src/cli/progress-track.ts';
import type { OperationSnapshot } from '../../src/core/snapshot.ts';

/** Only what the track reads: the direction and the download's byte count and restart flag. */
function download(bytesReceived: number, hasRestarted: boolean): OperationSnapshot {
  return {
    direction: 'download',
    progress: { bytesReceived, totalBytesToReceive: 8 << 20, hasRestarted },
  } as unknown as OperationSnapshot; // a partial snapshot: the rest is never read by Track
}

test('a restart is reported once when the flag rises before the byte count drops to 0', () => {
  const track = new Track();
  const reported = [
    download(1 << 20, false),
    download(2 << 20, false),
    // The host published the restart at once: the flag is up, the count still the old request's.
    download(2 << 20, true),
    download(0, true),
    download(1 << 20, true),
    download(8 << 20, true),
  ].map((snapshot, index) => track.observe(snapshot, index * 100));
  assert.deepEqual(reported, [false, false, true, false, false, false]);
});

test('a restart seen only as a drop in bytes is reported once too', () => {
  const track = new Track();
  const reported = [download(3 << 20, false), download(512, true), download(4 << 20, true)].map((snapshot, index) =>
    track.observe(snapshot, index * 100),
  );
  assert.deepEqual(reported, [false, true, false]);
});

test('a restart is reported once when several snapshots still show the old count after the flag rose', () => {
  const track = new Track();
  const reported = [
    download(2 << 20, false),
    // Under load the restart and a progress tick of the same moment both carry the old request's count.
    download(2 << 20, true),
    download(2 << 20, true),
    download(0, true),
    download(3 << 20, true),
  ].map((snapshot, index) => track.observe(snapshot, index * 100));
  assert.deepEqual(reported, [false, true, false, false, false]);
});
