import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type BarFields, fitBarLine, wrapToWidth } from '../../src/cli/bar-line.ts';

/** The TTY progress line and notes fitted to the terminal (src/cli/bar-line.ts). */

const FIELDS: BarFields = {
  label: 'holiday-video-2026.mp4',
  fraction: 0.42,
  sentText: '1.2 GiB',
  totalText: '2.9 GiB',
  rateText: '11.3 MiB/s',
  etaText: '2m35s',
  statusText: 'running',
};

describe('fitBarLine', () => {
  test('is never wider than the terminal minus one column, and keeps the status', () => {
    for (let columns = 20; columns <= 200; columns += 1) {
      const line = fitBarLine(FIELDS, columns);
      assert.ok([...line].length <= Math.max(20, columns) - 1, `${columns}: ${line}`);
      assert.match(line, /running$/, `${columns}: ${line}`);
    }
  });

  test('a wide terminal shows everything with the full bar; narrower ones leave out rate, then ETA', () => {
    assert.equal(
      fitBarLine(FIELDS, 200),
      `holiday-video-2026.mp4 [${'█'.repeat(12)}${'░'.repeat(16)}] 42% | 1.2 GiB / 2.9 GiB | 11.3 MiB/s | ETA 2m35s | running`,
    );
    assert.doesNotMatch(fitBarLine(FIELDS, 90), /MiB\/s/);
    assert.match(fitBarLine(FIELDS, 90), /ETA 2m35s/);
    assert.match(fitBarLine(FIELDS, 80), /^holiday-video-2026\.mp4 \[.+\] 42% \| 1\.2 GiB \/ 2\.9 GiB \| running$/);
    assert.match(fitBarLine(FIELDS, 50), /^holiday-video-2026\.mp4 \[.{10}\] 42% \| running$/);
    assert.match(fitBarLine(FIELDS, 40), /^holiday-vid… \[.{10}\] 42% \| running$/);
  });
});

describe('wrapToWidth', () => {
  test('breaks at spaces, keeps words whole, splits only a word longer than a line', () => {
    const text =
      'uploading a.bin (3.0 MiB) to http://127.0.0.1:40415/x with PUT; guid 17d65b7e-4e56-49f8-b735-ff3864eb4499';
    const wrapped = wrapToWidth(text, 40).split('\n');
    for (const line of wrapped) assert.ok(line.length <= 39, line);
    assert.equal(wrapped.join(' '), text);
    assert.deepEqual(wrapToWidth('x'.repeat(45), 40).split('\n'), ['x'.repeat(39), 'x'.repeat(6)]);
    assert.equal(wrapToWidth('short', 80), 'short');
  });
});
