import { mebibytes, median } from './stats.ts';

/** One measured process run of bench/summary.ts. */
export interface Sample {
  group: 'put' | 'get' | 'startup' | 'tus' | 'auto';
  /** 'curl', 'in-process', 'CLI through the host', 'curl GET', 'CLI download through the host', 'node -e 0', … */
  side: string;
  round: number;
  ok: boolean;
  wallSeconds: number;
  /** User + system; for the CLI through the host, the CLI's plus the host's. */
  cpuSeconds: number;
  maxRssBytes: number;
  /** The host's VmHWM after this run (CLI runs only). */
  hostPeakRssBytes?: number;
  /** The host's share of cpuSeconds (CLI runs only). */
  hostCpuSeconds?: number;
}

/** One line of the table: a bgtransfer measure against its baseline, medians of the valid runs. */
export interface SummaryRow {
  measure: string;
  baseline: string;
  baselineValue: number;
  value: number;
  /** Median of the per-round ratios value/baseline (each against the same round's baseline run). */
  ratio: number;
  unit: 's' | 'CPU s';
  baselinePeakRssBytes: number;
  peakRssBytes: number;
  /** The target, as text (empty: no target), and whether the medians meet it. */
  floor: string;
  met: boolean;
}

const MIB = 1024 * 1024;

export function summarize(samples: readonly Sample[]): SummaryRow[] {
  const valid = samples.filter((sample) => sample.ok);
  const of = (side: string): Sample[] => valid.filter((sample) => sample.side === side);
  const rows: SummaryRow[] = [];
  const compare = (
    measure: string,
    side: string,
    baseline: string,
    key: 'wallSeconds' | 'cpuSeconds',
    floor: { text: string; met: (row: Omit<SummaryRow, 'floor' | 'met'>) => boolean },
  ): void => {
    const mine = of(side);
    const theirs = of(baseline);
    const ratios = mine.flatMap((sample) => {
      const paired = theirs.find((candidate) => candidate.round === sample.round);
      return paired ? [sample[key] / paired[key]] : [];
    });
    const row = {
      measure,
      baseline,
      baselineValue: median(theirs.map((sample) => sample[key])),
      value: median(mine.map((sample) => sample[key])),
      ratio: median(ratios),
      unit: key === 'wallSeconds' ? ('s' as const) : ('CPU s' as const),
      baselinePeakRssBytes: median(theirs.map((sample) => sample.maxRssBytes)),
      peakRssBytes: median(mine.map((sample) => Math.max(sample.maxRssBytes, sample.hostPeakRssBytes ?? 0))),
    };
    rows.push({ ...row, floor: floor.text, met: floor.met(row) });
  };
  // CPU time is what a loaded machine distorts least: shown beside the wall times it explains.
  const informational = { text: '', met: () => true };
  const ratioAtMost = (limit: number) => ({
    text: `ratio ≤ ${limit}`,
    met: (row: { ratio: number }) => row.ratio <= limit,
  });
  compare('PUT, CLI through the host: wall', 'CLI through the host', 'curl', 'wallSeconds', ratioAtMost(1.2));
  compare('PUT, CLI through the host: CPU (CLI + host)', 'CLI through the host', 'curl', 'cpuSeconds', ratioAtMost(2));
  compare('PUT, in-process: wall', 'in-process', 'curl', 'wallSeconds', ratioAtMost(1.15));
  compare('PUT, in-process: CPU', 'in-process', 'curl', 'cpuSeconds', ratioAtMost(2));
  // Downloads are measured only once the built CLI has the command; no target is set for them yet.
  if (of('CLI download through the host').length > 0) {
    compare(
      'GET, CLI through the host: wall',
      'CLI download through the host',
      'curl GET',
      'wallSeconds',
      informational,
    );
    compare(
      'GET, CLI through the host: CPU (CLI + host)',
      'CLI download through the host',
      'curl GET',
      'cpuSeconds',
      informational,
    );
  }
  compare('tus PATCH, in-process: transfer time', 'tus: bgtransfer', 'tus: tus-js-client', 'wallSeconds', {
    text: 'ratio ≤ 0.91 (≥ 1.1× throughput), peak RSS ≤ baseline',
    met: (row) => row.ratio <= 1 / 1.1 && row.peakRssBytes <= row.baselinePeakRssBytes,
  });
  compare('tus PATCH, in-process: CPU', 'tus: bgtransfer', 'tus: tus-js-client', 'cpuSeconds', informational);
  // The same uploads timed by the server, POST to last byte: the transfer without the app's start-up.
  compare(
    'tus PATCH, server-seen transfer time',
    'tus: bgtransfer (server-seen)',
    'tus: tus-js-client (server-seen)',
    'wallSeconds',
    informational,
  );
  const auto = sideOf(valid, 'auto', "'auto'");
  const none = sideOf(valid, 'auto', "'none'");
  if (auto !== undefined && none !== undefined) {
    compare(`many small uploads, 'auto' vs 'none': wall`, auto, none, 'wallSeconds', ratioAtMost(1.05));
    compare(`many small uploads, 'auto' vs 'none': CPU`, auto, none, 'cpuSeconds', ratioAtMost(1.05));
  }
  compare("import('bgtransfer') (BGTRANSFER_HOST=auto)", "import('bgtransfer')", 'node -e 0', 'wallSeconds', {
    text: '≤ 0.15 s and ≤ 55 MiB',
    met: (row) => row.value <= 0.15 && row.peakRssBytes <= 55 * MIB,
  });
  compare("import('bgtransfer'): CPU", "import('bgtransfer')", 'node -e 0', 'cpuSeconds', informational);
  compare('bgtransfer --version', 'bgtransfer --version', 'node -e 0', 'wallSeconds', {
    text: '≤ 0.2 s',
    met: (row) => row.value <= 0.2,
  });
  compare('bgtransfer --version: CPU', 'bgtransfer --version', 'node -e 0', 'cpuSeconds', informational);
  return rows;
}

/** The side name of `group` that contains `part` (the auto rows name their upload count). */
function sideOf(samples: readonly Sample[], group: Sample['group'], part: string): string | undefined {
  return samples.find((sample) => sample.group === group && sample.side.includes(part))?.side;
}

function hostCpu(samples: readonly Sample[]): number {
  return median(
    samples.flatMap((sample) => (sample.ok && sample.hostCpuSeconds !== undefined ? [sample.hostCpuSeconds] : [])),
  );
}

export function renderSummary(
  rows: readonly SummaryRow[],
  samples: readonly Sample[],
  sizeBytes: number,
  runs: number,
  startupRuns: number,
): string {
  const lines = [
    `PUT${samples.some((sample) => sample.group === 'get') ? ', GET' : ''} and tus PATCH of ${mebibytes(sizeBytes).toFixed(0)} MiB over loopback (${runs} paired rounds), many small uploads, ` +
      `and start-up (${startupRuns} rounds); medians. Ratio: bgtransfer over the baseline of the same round.`,
    '',
    '| measure | baseline | baseline | bgtransfer | ratio | baseline peak RSS | bgtransfer peak RSS | floor | met |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (row) =>
        `| ${row.measure} | ${row.baseline} | ${fixed(row.baselineValue, 3)} ${row.unit} | ${fixed(row.value, 3)} ${row.unit} | ` +
        `${fixed(row.ratio, 2)} | ${mib(row.baselinePeakRssBytes)} | ${mib(row.peakRssBytes)} | ${row.floor} | ${row.floor === '' ? '' : row.met ? 'yes' : 'no'} |`,
    ),
    '',
    'tus rows: transfer time as each app timed it (start of the upload until success), CPU and peak RSS of the whole process;' +
      ' "server-seen": the lean tus server\'s own clock, from the creation POST to the last byte of the PATCH.',
    'Peak RSS of "CLI through the host" is the larger of the CLI process and the host (VmHWM since it started).',
    `Of its CPU time the host used ${fixed(hostCpu(samples), 3)} s (median), the CLI process the rest.`,
  ];
  return lines.join('\n');
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function mib(bytes: number): string {
  return Number.isFinite(bytes) && bytes > 0 ? `${mebibytes(bytes).toFixed(1)} MiB` : 'n/a';
}
