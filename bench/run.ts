/**
 * `npm run bench` (full) and `npm run bench:quick` (--quick: smaller sizes and fewer samples, under
 * two minutes). Runs every suite in one process, so all ratios compare figures of the same run,
 * prints a line per measurement, and writes bench/results/latest.{md,json} (a quick run: quick.{md,json}, so it never overwrites a full run's figures).
 */
import { availableParallelism, cpus, platform, arch } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBackend } from '../src/backend/index.js';
import type { Contenders } from './contenders.js';
import { elementwiseCases } from './elementwise.js';
import { gemmCases } from './gemm.js';
import { BASELINE, measure, type Budget, type CaseResult, type CaseSpec } from './harness.js';
import { optimizerCases } from './optimizers.js';
import { peakCases, peakProbe } from './peak.js';
import { loadPeers } from './peers.js';
import { enableRelaxedSimd } from '../src/node.js';
import { loadRelaxedBackend } from './relaxed.js';
import { markdown, threadSpeedups, writeReport, type RunInfo } from './report.js';
import { batchNormCost } from './batchnorm.js';
import { interleavedSpeedups, sparseKernelCases, sparseTrainingCases } from './sparse.js';
import { loadDigits, longRunCase, mnistCases, predictCase, xorCase, type LongRunOptions } from './training.js';

const quick = process.argv.includes('--quick');
const started = performance.now();
const log = (line: string): void => console.log(line);

const MODES = {
  quick: {
    gemmSizes: [64, 128, 256, 512],
    elements: [1e3, 1e5],
    digits: 2000,
    // Batch 64 only in full runs: TF.js's cpu backend alone needs about 6 s per epoch there.
    batchSizes: [256],
    xorSteps: 250,
    sparseRounds: 9,
    normRounds: 9,
    // The long run at its full size (Adam's state underflows from epoch 6 of 12), wasm builds only.
    longRun: { rows: 8192, epochs: 12, repeats: 2, slowImpls: false },
    kernel: { timeMs: 120, minSamples: 3, warmupMs: 20, sampleMs: 2 },
    training: { timeMs: 0, minSamples: 3, warmupMs: 0, sampleMs: 0 },
  },
  full: {
    gemmSizes: [64, 128, 256, 512, 1024],
    elements: [1e3, 1e5, 1e7],
    digits: 8000,
    batchSizes: [64, 256],
    xorSteps: 1000,
    sparseRounds: 11,
    normRounds: 15,
    longRun: { rows: 8192, epochs: 12, repeats: 3, slowImpls: true },
    kernel: { timeMs: 500, minSamples: 5, warmupMs: 50, sampleMs: 2 },
    training: { timeMs: 0, minSamples: 5, warmupMs: 0, sampleMs: 0 },
  },
} satisfies Record<string, { kernel: Budget; training: Budget; longRun: LongRunOptions; [key: string]: unknown }>;
const mode = quick ? MODES.quick : MODES.full;
const PEAK_BUDGET: Budget = { timeMs: 300, minSamples: 10, warmupMs: 50, sampleMs: 2 };

// Before any wasm is compiled: the relaxed-SIMD flag only affects modules compiled after it.
const relaxedSimd = enableRelaxedSimd();
const notes: string[] = [];
const contenders: Contenders = { js: await createBackend('js'), wasm: await createBackend('wasm', { threads: 1 }), peers: [] };
const threaded = await createBackend('wasm', { threads: 2 });
if (threaded.threads === 2) {
  contenders.threaded = threaded;
  notes.push('wasm-2t: the wasm backend on two threads (the calling one and a worker), default build');
} else {
  notes.push(`wasm-2t (two threads): not available: ${threaded.threadsReason ?? 'unknown reason'}`);
}
const relaxed = await loadRelaxedBackend(relaxedSimd);
if (typeof relaxed === 'string') {
  notes.push(`wasm-relaxed (relaxed-SIMD build): ${relaxed}`);
} else {
  contenders.relaxed = relaxed;
  notes.push('wasm-relaxed: the relaxed-SIMD build (FMA in GEMM), with V8\'s --experimental-wasm-relaxed-simd set by the suite');
}
const loaded = await loadPeers();
contenders.peers = loaded.peers;
notes.push(...loaded.notes);
notes.push('Training cases run simdnet through its public API (sequential, compile, fit).');
for (const note of notes) log(`note: ${note}`);

const results: CaseResult[] = [];
async function runAll(specs: Iterable<CaseSpec>, budget: Budget): Promise<CaseResult[]> {
  const t0 = performance.now();
  const done: CaseResult[] = [];
  for (const spec of specs) done.push(await measure(spec, budget, log));
  results.push(...done);
  if (done.length > 0) log(`(${done[0].group}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return done;
}

await runAll(await peakCases(relaxedSimd), PEAK_BUDGET);

// GEMM as a fraction of the peak: on a shared machine the peak drifts within a run, so each SIMD
// implementation's measurement is bracketed by quick peak readings (mul+add; FMA for the relaxed
// build, which can use it), and the higher of the two is the reference.
const probes: Record<string, (() => number) | undefined> = {
  mulAdd: await peakProbe('mulAdd'),
  fma: relaxedSimd ? await peakProbe('fma') : undefined,
};
const gemmSpecs = gemmCases(contenders, mode.gemmSizes);
const alongside = new Map<CaseSpec, Record<string, number>>();
for (const spec of gemmSpecs) {
  const read: Record<string, number> = {};
  alongside.set(spec, read);
  for (const entry of spec.entries) {
    // The peak is one core's: two threads are compared with one thread in their own table instead.
    const probe = entry.impl === 'wasm-relaxed' ? probes['fma'] : entry.impl === BASELINE || entry.impl === 'wasm-2t' ? undefined : probes['mulAdd'];
    if (probe === undefined) continue;
    const { setup, teardown } = entry;
    let before = 0;
    entry.setup = async () => {
      await setup?.();
      before = probe();
    };
    entry.teardown = async () => {
      read[entry.impl] = Math.max(before, probe());
      await teardown?.();
    };
  }
}
const gemm = await runAll(gemmSpecs, mode.kernel);
gemm.forEach((c, i) => {
  c.peakAlongside = alongside.get(gemmSpecs[i]);
  c.fractionOfPeak = {};
  for (const [impl, fig] of Object.entries(c.figures)) {
    const peak = c.peakAlongside?.[impl];
    if (peak !== undefined) c.fractionOfPeak[impl] = fig.median / peak;
  }
});

await runAll(elementwiseCases(contenders, mode.elements), mode.kernel);
await runAll(optimizerCases(contenders, mode.elements), mode.kernel);
const digits = loadDigits(mode.digits);
await runAll([
  ...mnistCases(digits, mode.batchSizes, contenders), ...mnistCases(digits, mode.batchSizes, contenders, { dropout: 0.2 }),
  ...mnistCases(digits, mode.batchSizes, contenders, { batchNorm: true }),
  ...mnistCases(digits, mode.batchSizes, contenders, { epochsPerFit: 4 }),
], mode.training);
// Batch normalization's own cost, interleaved round by round by CPU time (bench/batchnorm.ts).
for (const line of await batchNormCost(digits, mode.normRounds)) {
  log(line);
  notes.push(line);
}
await runAll([predictCase(digits, 2000, contenders)], mode.training);
await runAll([xorCase(mode.xorSteps, contenders)], mode.training);
for (const { name, speedup } of threadSpeedups(results)) log(`two threads / one: ${name}: ×${speedup.toFixed(2)}`);
// The sparse first layer, on and off in the same run (bench/sparse.ts).
await runAll(sparseKernelCases(digits, contenders), mode.kernel);
await runAll(sparseTrainingCases(digits, 2000), mode.training);
const speedups = await interleavedSpeedups([...sparseKernelCases(digits, contenders), ...sparseTrainingCases(digits, 2000)], mode.sparseRounds);
for (const line of speedups) {
  log(line);
  notes.push(line);
}
// Speed that holds over a long run: subnormal floats kept out of the kernels (bench/training.ts).
{
  const t0 = performance.now();
  results.push(await longRunCase(mode.longRun, contenders, log));
  log(`(long run: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

const info: RunInfo = {
  mode: quick ? 'quick' : 'full',
  date: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    v8: process.versions.v8,
    platform: `${platform()} ${arch()}`,
  },
  notes,
  durationSeconds: (performance.now() - started) / 1000,
};
const { json, md } = writeReport(new URL('./results/', import.meta.url), quick ? 'quick' : 'latest', info, results);
log('');
log(markdown(info, results));
const shown = (u: URL): string => relative(process.cwd(), fileURLToPath(u));
log(`wrote ${shown(md)} and ${shown(json)} in ${info.durationSeconds.toFixed(0)} s`);
