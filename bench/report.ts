/**
 * The run's results as a Markdown table per group (bench/results/latest.md) and as JSON
 * (bench/results/latest.json): one entry per case with its unit, each implementation's figure
 * (median, min, max over samples) and the ratios to the JS backend measured in the same run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { BASELINE, formatFigure, LONG_RUN_HOLD, longRunSummary, lowerIsBetter, num, type CaseResult } from './harness.js';

export interface RunInfo {
  mode: 'quick' | 'full';
  date: string;
  machine: { cpu: string; cores: number; node: string; v8: string; platform: string };
  notes: string[];
  durationSeconds: number;
}

const IMPL_ORDER = ['js', 'wasm', 'wasm-2t', 'wasm-relaxed', 'tfjs-wasm', 'tfjs-cpu'];
const SIMD_IMPLS = ['wasm', 'wasm-relaxed', 'tfjs-wasm'];
const GROUP_TITLE: Record<string, string> = {
  peak: 'Machine peak (wasm f32x4, same run)',
  gemm: 'GEMM',
  elementwise: 'Activations, bias add, column sums',
  optimizers: 'Optimizer updates',
  training: 'Training: one epoch',
  'long run': 'Training: a long run',
  overhead: 'Per-step overhead',
};

function implsOf(cases: CaseResult[]): string[] {
  const seen = new Set<string>();
  for (const c of cases) for (const impl of [...Object.keys(c.figures), ...Object.keys(c.skipped)]) seen.add(impl);
  return IMPL_ORDER.filter((i) => seen.has(i)).concat([...seen].filter((i) => !IMPL_ORDER.includes(i)));
}

/** The long run: a row per implementation, with the epochs that matter and whether the speed holds. */
function longRunTable(cases: CaseResult[]): string[] {
  const lines = [`## ${GROUP_TITLE['long run']}`, ''];
  for (const c of cases) {
    lines.push(`${c.name}: samples/s per epoch, median over the fits of each build; the last epoch must run at ` +
      `≥ ${LONG_RUN_HOLD}× epoch 2's speed. "CPU" counts this process's CPU time instead of the clock's, which ` +
      'leaves out what a shared machine gives to other processes.', '',
    '| implementation | epoch 1 | epoch 2 | last epoch | last ÷ epoch 2 | holds | CPU: last ÷ epoch 2 | holds | every epoch |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    const untimed: string[] = [];
    for (const impl of implsOf([c])) {
      const wall = c.perEpoch?.[impl], cpu = c.perEpochCpu?.[impl];
      if (wall === undefined || cpu === undefined) {
        untimed.push(`- ${impl}: ${c.skipped[impl]}`);
        continue;
      }
      const s = longRunSummary(wall), sc = longRunSummary(cpu);
      const yes = (holds: boolean): string => (holds ? 'yes' : '**no**');
      lines.push(`| ${impl} | ${num(s.first)} | ${num(s.second)} | ${num(s.last)} | ${s.ratio.toFixed(2)} | ${yes(s.holds)} | ` +
        `${sc.ratio.toFixed(2)} | ${yes(sc.holds)} | ${wall.map((v) => num(v)).join(' ')} |`);
    }
    if (untimed.length > 0) lines.push('', 'Not timed:', ...untimed);
    lines.push('');
  }
  return lines;
}

function groupTable(group: string, cases: CaseResult[]): string[] {
  if (group === 'long run') return longRunTable(cases);
  const impls = implsOf(cases);
  // Fractions of the SIMD peak mean something for SIMD code only; the JSON keeps them all.
  const peakCols = group === 'gemm'
    ? impls.filter((i) => SIMD_IMPLS.includes(i) && cases.some((c) => c.fractionOfPeak?.[i] !== undefined))
    : [];
  const head = ['case', 'unit'];
  for (const impl of impls) {
    head.push(impl);
    if (impl !== BASELINE && group !== 'peak') head.push(`${impl} ×js`);
  }
  for (const impl of peakCols) head.push(`${impl} % of ${impl === 'wasm-relaxed' ? 'FMA' : 'mul+add'} peak`);
  const lines = [`## ${GROUP_TITLE[group] ?? group}`, '', `| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`];
  const untimed: string[] = [];
  for (const c of cases) {
    const row = [c.name, c.unit + (lowerIsBetter(c.unit) ? ' (lower is better)' : '')];
    for (const impl of impls) {
      const fig = c.figures[impl];
      row.push(fig ? formatFigure(fig) : c.skipped[impl] !== undefined ? 'not timed' : '—');
      if (impl !== BASELINE && group !== 'peak') row.push(c.ratios[impl] !== undefined ? `×${num(c.ratios[impl])}` : '—');
      if (c.skipped[impl] !== undefined) untimed.push(`- ${c.name}, ${impl}: ${c.skipped[impl]}`);
    }
    for (const impl of peakCols) {
      const f = c.fractionOfPeak?.[impl];
      row.push(f !== undefined ? `${(100 * f).toFixed(0)}%` : '—');
    }
    lines.push(`| ${row.join(' | ')} |`);
  }
  if (peakCols.length > 0) {
    lines.push('', '% of peak: the median against quick readings of the peak taken just before and after that ' +
      'implementation was timed (the higher of the two), since a shared machine\'s peak drifts within a run; ' +
      'the relaxed build, which can use FMA, against the FMA peak.');
  }
  if (untimed.length > 0) lines.push('', 'Not timed:', ...untimed);
  lines.push('');
  return lines;
}

/** Two threads against one, per case with both figures: the speed-up at the medians of the same run. */
export function threadSpeedups(cases: CaseResult[]): Array<{ name: string; speedup: number }> {
  return cases.flatMap((c) => {
    const one = c.figures['wasm'], two = c.figures['wasm-2t'];
    if (!one || !two) return [];
    return [{ name: c.name, speedup: lowerIsBetter(c.unit) ? one.median / two.median : two.median / one.median }];
  });
}

function threadsTable(cases: CaseResult[]): string[] {
  const rows = threadSpeedups(cases);
  if (rows.length === 0) return [];
  return [
    '## Two threads against one (wasm-2t / wasm, same run)', '',
    '| case | speed-up |', '| --- | --- |',
    ...rows.map((r) => `| ${r.name} | ×${num(r.speedup)} |`), '',
  ];
}

export function markdown(info: RunInfo, cases: CaseResult[]): string {
  const m = info.machine;
  const lines = [
    '# simdnet benchmarks',
    '',
    `${info.mode === 'quick' ? 'Quick' : 'Full'} run of ${info.date}, ${info.durationSeconds.toFixed(0)} s: ${m.cpu} (${m.cores} cores), ` +
      `Node ${m.node} (V8 ${m.v8}), ${m.platform}.`,
    '',
    'Each cell: median (min–max) over samples; elementwise cells add GB/s at the median. `×js`: speed-up over ' +
      "simdnet's JS backend measured in the same run (> 1 is faster). Every implementation's result was checked " +
      'against the JS backend or a float64 reference before it was timed. The machine is shared: compare only ' +
      'figures of the same run.',
    '',
    ...info.notes.map((n) => `- ${n}`),
    '',
  ];
  const groups = [...new Set(cases.map((c) => c.group))];
  for (const g of groups) lines.push(...groupTable(g, cases.filter((c) => c.group === g)));
  lines.push(...threadsTable(cases));
  return lines.join('\n');
}

/** Writes `<name>.json` and `<name>.md` in dir: 'latest' for a full run, 'quick' for a quick one. */
export function writeReport(dir: URL, name: string, info: RunInfo, cases: CaseResult[]): { json: URL; md: URL } {
  mkdirSync(dir, { recursive: true });
  const json = new URL(`${name}.json`, dir);
  const md = new URL(`${name}.md`, dir);
  const body = {
    ...info,
    baseline: BASELINE,
    ratios: 'speed-up over the baseline at the medians (> 1: faster)',
    cases,
  };
  writeFileSync(json, JSON.stringify(body, null, 2) + '\n');
  writeFileSync(md, markdown(info, cases));
  return { json, md };
}
