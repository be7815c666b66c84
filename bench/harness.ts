/**
 * The measuring loop shared by every suite: each implementation of a case is first checked against
 * a reference, then timed with tinybench; the figure is the median over samples, with min–max, and
 * the ratio to the JS backend measured in the same run (the machine drifts between runs).
 */
import { Bench } from 'tinybench';

/** Higher is better for the rates; µs/step is a time, lower is better. */
export type Unit = 'GFLOP/s' | 'G elements/s' | 'samples/s' | 'µs/step';

/** The implementation every ratio is taken against: simdnet's plain-loop JS backend. */
export const BASELINE = 'js';

export interface Entry {
  /** 'js', 'wasm', 'wasm-relaxed', 'tfjs-wasm', 'tfjs-cpu', … */
  impl: string;
  /** Before the check (e.g. select a TF.js backend, make tensors); not timed. */
  setup?: () => void | Promise<void>;
  /** Runs the operation on known inputs and compares it with the reference: undefined when right, else what is wrong. */
  check: () => string | undefined | Promise<string | undefined>;
  /**
   * The operation, once. Kernels are synchronous; with a budget of sampleMs 0 (whole epochs) a
   * returned promise is awaited inside the timed window.
   */
  run: () => unknown;
  teardown?: () => void | Promise<void>;
}

export interface CaseSpec {
  group: string;
  name: string;
  unit: Unit;
  /** Work per run() in the unit's own terms: flops, elements, samples or steps. */
  work: number;
  /** Bytes read and written per run(), for a GB/s figure next to elements/s. */
  bytes?: number;
  entries: Entry[];
  /** Implementations that cannot run here, and why; reported as not timed. */
  unavailable?: Record<string, string>;
}

export interface Figure {
  median: number;
  min: number;
  max: number;
  samples: number;
  /** GB/s at the median, when the case moves a known number of bytes. */
  gbps?: number;
}

export interface CaseResult {
  group: string;
  name: string;
  unit: Unit;
  figures: Record<string, Figure>;
  /** Speed-up over the JS backend (> 1: faster), at the medians. */
  ratios: Record<string, number>;
  /** Implementations that were not timed, and why (wrong result, error, not available). */
  skipped: Record<string, string>;
  /** GEMM only: the peak read just before and after each implementation's measurement (the higher). */
  peakAlongside?: Record<string, number>;
  /** GEMM only: figure / peakAlongside. */
  fractionOfPeak?: Record<string, number>;
  /** Long run only: samples/s of every epoch (the figure is the last), by the clock and by CPU time. */
  perEpoch?: Record<string, number[]>;
  perEpochCpu?: Record<string, number[]>;
}

export interface Budget {
  /** tinybench's time budget per implementation; sampling goes on until it and minSamples are met. */
  timeMs: number;
  minSamples: number;
  warmupMs: number;
  /** Short operations are repeated inside one sample until it lasts about this long (timer resolution). */
  sampleMs: number;
}

const SCALE: Record<Unit, number> = { 'GFLOP/s': 1e9, 'G elements/s': 1e9, 'samples/s': 1, 'µs/step': 1 };

/** Per-call milliseconds → the unit's figure. */
export function toFigure(unit: Unit, work: number, ms: number): number {
  if (unit === 'µs/step') return (ms * 1000) / work;
  return work / (ms / 1000) / SCALE[unit];
}

export const lowerIsBetter = (unit: Unit): boolean => unit === 'µs/step';

export async function measure(spec: CaseSpec, budget: Budget, log: (line: string) => void): Promise<CaseResult> {
  const result: CaseResult = {
    group: spec.group, name: spec.name, unit: spec.unit, figures: {}, ratios: {}, skipped: { ...spec.unavailable },
  };
  for (const impl of Object.keys(result.skipped)) log(formatLine(spec, impl, result));
  for (const entry of spec.entries) {
    try {
      await entry.setup?.();
      const wrong = await entry.check();
      if (wrong !== undefined) {
        result.skipped[entry.impl] = `wrong result: ${wrong}`;
      } else {
        result.figures[entry.impl] = await time(spec, entry, budget);
      }
    } catch (err) {
      result.skipped[entry.impl] = `error: ${(err as Error).message}`;
    } finally {
      await entry.teardown?.();
    }
    log(formatLine(spec, entry.impl, result));
  }
  const base = result.figures[BASELINE];
  if (base !== undefined) {
    for (const [impl, fig] of Object.entries(result.figures)) {
      result.ratios[impl] = lowerIsBetter(spec.unit) ? base.median / fig.median : fig.median / base.median;
    }
  }
  return result;
}

async function time(spec: CaseSpec, entry: Entry, budget: Budget): Promise<Figure> {
  const run = entry.run;
  const options = { time: budget.timeMs, iterations: budget.minSamples, warmupTime: budget.warmupMs, warmupIterations: 1, throws: true };
  let bench: Bench;
  if (budget.sampleMs <= 0) {
    // Long operations (whole epochs): one call per sample; the check's call was the warmup.
    bench = new Bench({ ...options, warmup: false });
    bench.add(entry.impl, async () => {
      await run();
    });
  } else {
    // One untimed call after the check's (which compiled the code) sizes the samples.
    const t0 = performance.now();
    run();
    const once = performance.now() - t0;
    const reps = Math.max(1, Math.ceil(budget.sampleMs / Math.max(once, 1e-4)));
    // Slow operations have now run twice, which is warmup enough.
    bench = new Bench({ ...options, warmup: once < 20 });
    // Several calls per sample, timed together: samples record the mean call.
    bench.add(entry.impl, () => {
      const start = performance.now();
      for (let r = 0; r < reps; r++) run();
      const elapsed = performance.now() - start;
      return { overriddenDuration: elapsed / reps, overriddenIterationCost: elapsed };
    });
  }
  await bench.run();
  const res = bench.tasks[0].result;
  if (res.state !== 'completed') {
    throw new Error(res.state === 'errored' ? res.error.message : `tinybench task ended ${res.state}`);
  }
  const { p50, min, max, samplesCount } = res.latency;
  const a = toFigure(spec.unit, spec.work, min);
  const b = toFigure(spec.unit, spec.work, max);
  const fig: Figure = { median: toFigure(spec.unit, spec.work, p50), min: Math.min(a, b), max: Math.max(a, b), samples: samplesCount };
  if (spec.bytes !== undefined) fig.gbps = spec.bytes / (p50 / 1000) / 1e9;
  return fig;
}

/** The long run's criterion: the last epoch runs at least this fraction of epoch 2's samples/s. */
export const LONG_RUN_HOLD = 0.9;

/** Epoch 1, epoch 2, the last epoch, and whether the last holds LONG_RUN_HOLD × epoch 2. */
export function longRunSummary(perEpoch: number[]): { first: number; second: number; last: number; ratio: number; holds: boolean } {
  const first = perEpoch[0], second = perEpoch[1] ?? first, last = perEpoch[perEpoch.length - 1];
  return { first, second, last, ratio: last / second, holds: last >= LONG_RUN_HOLD * second };
}

/** Three significant digits, without exponent notation for the ranges seen here. */
export function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

export function formatFigure(fig: Figure): string {
  const gb = fig.gbps !== undefined ? ` · ${num(fig.gbps)} GB/s` : '';
  return `${num(fig.median)} (${num(fig.min)}–${num(fig.max)})${gb}`;
}

function formatLine(spec: CaseSpec, impl: string, result: CaseResult): string {
  const head = `${spec.group.padEnd(12)} ${spec.name.padEnd(34)} ${impl.padEnd(13)}`;
  const fig = result.figures[impl];
  if (fig === undefined) return `${head} not timed: ${result.skipped[impl]}`;
  const base = result.figures[BASELINE];
  let ratio = '';
  if (base !== undefined && impl !== BASELINE) {
    const r = lowerIsBetter(spec.unit) ? base.median / fig.median : fig.median / base.median;
    ratio = `  ×${num(r)} vs js`;
  }
  return `${head} ${formatFigure(fig)} ${spec.unit}${ratio}`;
}

/** undefined when every |got − want| ≤ rtol·|want| + atol, else the first element outside, as a message. */
export function compare(
  got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number, what = 'element',
): string | undefined {
  if (got.length !== want.length) return `${got.length} values, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= rtol * Math.abs(want[i]) + atol)) {
      return `${what} ${i}: got ${got[i]}, want ${want[i]} (tolerance ${rtol} rel + ${atol} abs)`;
    }
  }
  return undefined;
}
