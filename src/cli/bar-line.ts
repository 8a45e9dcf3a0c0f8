/**
 * The progress bar line of a TTY, fitted to the terminal's width. cli-progress cuts a line at the
 * terminal's edge, which would cut off the status, the most useful part; so the line is built to fit:
 * the bar shrinks first, then the rate, the ETA and the byte counts are left out (in that order), then
 * the label is shortened. Pure text, no I/O.
 */

export interface BarFields {
  label: string;
  /** 0..1. */
  fraction: number;
  sentText: string;
  totalText: string;
  rateText: string;
  etaText: string;
  statusText: string;
}

const MAX_BAR = 28;
const MIN_BAR = 10;
const MIN_LABEL = 8;
const COMPLETE = '\u2588';
const INCOMPLETE = '\u2591';
const ELLIPSIS = '…';
/** Leave the last column free: writing into it makes some terminals wrap, and the redraw then goes wrong. */
const RIGHT_MARGIN = 1;

/** Display width, counting code points (file names are rarely double-width; a wrong guess only costs margin). */
function width(text: string): number {
  return [...text].length;
}

function bar(fraction: number, size: number): string {
  const done = Math.max(0, Math.min(size, Math.round(fraction * size)));
  return COMPLETE.repeat(done) + INCOMPLETE.repeat(size - done);
}

function shorten(text: string, size: number): string {
  const chars = [...text];
  return chars.length <= size ? text : `${chars.slice(0, Math.max(0, size - 1)).join('')}${ELLIPSIS}`;
}

/** `label [████░░░░] 42% | 1.0 MiB / 2.4 MiB | 3.1 MiB/s | ETA 2s | running`, at most `columns - 1` wide. */
export function fitBarLine(fields: BarFields, columns: number): string {
  const limit = Math.max(20, columns) - RIGHT_MARGIN;
  const percent = `${Math.floor(Math.max(0, Math.min(1, fields.fraction)) * 100)}%`;
  const bytes = `${fields.sentText} / ${fields.totalText}`;
  const rate = fields.rateText;
  const eta = `ETA ${fields.etaText}`;
  // Each next set leaves out the least useful part still there.
  const tails = [
    [percent, bytes, rate, eta, fields.statusText],
    [percent, bytes, eta, fields.statusText],
    [percent, bytes, fields.statusText],
    [percent, fields.statusText],
  ];
  for (const parts of tails) {
    const tail = parts.join(' | ');
    // label + " [" + bar + "] " + tail
    const room = limit - width(fields.label) - 4 - width(tail);
    if (room >= MIN_BAR) return `${fields.label} [${bar(fields.fraction, Math.min(MAX_BAR, room))}] ${tail}`;
  }
  const tail = `${percent} | ${fields.statusText}`;
  const labelRoom = limit - 4 - MIN_BAR - width(tail);
  if (labelRoom >= MIN_LABEL) {
    return `${shorten(fields.label, labelRoom)} [${bar(fields.fraction, MIN_BAR)}] ${tail}`;
  }
  // A very narrow terminal: no bar, and what is left of the label.
  const short = limit - 1 - width(tail);
  return short >= 2 ? `${shorten(fields.label, short)} ${tail}` : shorten(tail, limit);
}

/**
 * A message printed above the bars, broken at spaces into lines at most `columns - 1` wide. cli-progress
 * turns the terminal's line wrapping off while it draws, so a longer line would be cut at the edge.
 */
export function wrapToWidth(text: string, columns: number): string {
  const limit = Math.max(20, columns) - RIGHT_MARGIN;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    let rest = word;
    while (width(rest) > limit) {
      if (line !== '') lines.push(line);
      const chars = [...rest];
      lines.push(chars.slice(0, limit).join(''));
      rest = chars.slice(limit).join('');
      line = '';
    }
    if (line === '') line = rest;
    else if (width(line) + 1 + width(rest) <= limit) line = `${line} ${rest}`;
    else {
      lines.push(line);
      line = rest;
    }
  }
  lines.push(line);
  return lines.join('\n');
}
