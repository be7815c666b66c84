/**
 * batchNormalization layers in models, on every backend: backprop through the batch statistics
 * against central finite differences of a float64 forward pass built from test/reference.ts (before
 * and after the activation, on the output layer, without center or scale, with dropout and with an
 * activation whose g′ reads z); the moving statistics after a step; predict and evaluate on the
 * moving statistics; the layer's checks. Tolerances as in gradcheck.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  activation, batchNormalization, dense, dropout, sequential, SimdnetError,
  type ActivationName, type Backend, type LayerConfig, type LossName, type Sequential,
} from '../src/index.js';
import { BACKEND_NAMES, read, scoped, upload } from './backends.js';
import { expectClose } from './assert.js';
import { mulberry32, uniform } from './prng.js';
import * as ref from './reference.js';

const ROWS = 8;

/** One dense layer of a test network and what follows it. */
interface Block {
  units: number;
  act: ActivationName;
  norm: 'none' | 'pre' | 'post';
  center?: boolean;
  scale?: boolean;
  dropout?: number;
}

interface Net { inputs: number; blocks: Block[]; loss: LossName }

const EPSILON = 0.001;

function layersOf(net: Net): LayerConfig[] {
  return net.blocks.flatMap((b, l) => {
    const first = l === 0 ? { inputShape: [net.inputs] as [number] } : {};
    const bn = batchNormalization({ center: b.center ?? true, scale: b.scale ?? true });
    const layers: LayerConfig[] = b.norm === 'pre'
      ? [dense({ units: b.units, ...first }), bn, ...(b.act === 'linear' ? [] : [activation({ activation: b.act })])]
      : [dense({ units: b.units, activation: b.act, ...first }), ...(b.norm === 'post' ? [bn] : [])];
    return b.dropout ? [...layers, dropout({ rate: b.dropout })] : layers;
  });
}

/** The masks the model draws at step 0 for layer l (the model's seed). */
function mask(b: Backend, n: number, rate: number, seed: number, layer: number): Float32Array {
  return scoped(b, () => {
    const p = upload(b, new Float32Array(n).fill(1));
    b.dropout(p, p, n, 0, rate, seed, 0, layer);
    return read(b, p, n);
  });
}

/**
 * The float64 training forward pass and loss at `weights` (getWeights() order), normalising with
 * the batch's statistics; also the batch's mean and variance of each normalised layer.
 */
function loss64(net: Net, x: number[][], y: number[][], weights: number[][], masks: (Float32Array | undefined)[]) {
  const m = x.length;
  let a: ArrayLike<number> = x.flat();
  let z: ArrayLike<number> = [];
  let width = net.inputs;
  let k = 0;
  const stats: { mean: Float64Array; variance: Float64Array }[] = [];
  net.blocks.forEach((b, l) => {
    const n = b.units;
    z = ref.biasAdd(ref.gemm(false, false, m, n, width, a, weights[k]).c, weights[k + 1], m, n);
    k += 2;
    const gamma = b.norm !== 'none' && (b.scale ?? true) ? weights[k++] : new Array<number>(n).fill(1);
    const beta = b.norm !== 'none' && (b.center ?? true) ? weights[k++] : new Array<number>(n).fill(0);
    if (b.norm !== 'none') k += 2; // the moving statistics
    const normalize = (v: ArrayLike<number>): Float64Array => {
      const r = ref.batchNormTrain(v, m, n, gamma, beta, EPSILON);
      stats.push(r);
      return r.y;
    };
    if (b.norm === 'pre') z = normalize(z);
    a = ref.activation(b.act, z, m, n);
    if (b.norm === 'post') a = normalize(a);
    const drop = masks[l];
    if (drop) a = Float64Array.from(a, (v, i) => v * drop[i]);
    width = n;
  });
  const t = y.flat();
  const [rows, n] = [m, width];
  const loss = net.loss === 'binaryCrossentropy' ? ref.bce(z, t, rows, n).loss
    : net.loss === 'categoricalCrossentropy' ? ref.cce(z, t, rows, n).loss : ref.mse(a, t, rows, n).loss;
  return { loss, stats, out: a };
}

const NETS: { name: string; net: Net }[] = [
  {
    name: 'tanh after its normalization, gelu before one (with dropout), a normalised softmax output',
    net: {
      inputs: 3, loss: 'categoricalCrossentropy',
      blocks: [{ units: 5, act: 'tanh', norm: 'pre' }, { units: 4, act: 'gelu', norm: 'post', dropout: 0.3 }, { units: 3, act: 'softmax', norm: 'pre' }],
    },
  },
  {
    name: 'without center (swish, g′ from z) and without scale (sigmoid, after it), sigmoid output',
    net: {
      inputs: 4, loss: 'binaryCrossentropy',
      blocks: [{ units: 6, act: 'swish', norm: 'pre', center: false }, { units: 5, act: 'sigmoid', norm: 'post', scale: false }, { units: 2, act: 'sigmoid', norm: 'none' }],
    },
  },
  {
    name: 'elu after its normalization and dropout, a plain layer, a normalised linear output',
    net: {
      inputs: 3, loss: 'meanSquaredError',
      blocks: [{ units: 7, act: 'elu', norm: 'pre', dropout: 0.2 }, { units: 4, act: 'tanh', norm: 'none' }, { units: 2, act: 'linear', norm: 'pre' }],
    },
  },
];

function data(net: Net, seed: number): { x: number[][]; y: number[][] } {
  const rand = mulberry32(seed);
  const out = net.blocks[net.blocks.length - 1].units;
  const x = Array.from({ length: ROWS }, () => Array.from(uniform(rand, net.inputs, -2, 2)));
  const y = Array.from({ length: ROWS }, (_, i) => {
    if (net.loss === 'categoricalCrossentropy') return Array.from({ length: out }, (_, j) => (j === i % out ? 1 : 0));
    if (net.loss === 'binaryCrossentropy') return Array.from({ length: out }, () => (rand() < 0.5 ? 0 : 1));
    return Array.from(uniform(rand, out, -1, 1));
  });
  return { x, y };
}

async function build(net: Net, backend: 'js' | 'wasm'): Promise<Sequential> {
  const model = await sequential({ layers: layersOf(net), backend, seed: 7 });
  model.compile({ loss: net.loss, optimizer: { type: 'sgd', learningRate: 0.1 } });
  return model;
}

/** The masks of every layer with dropout, at step 0 (the model's seed, 7). */
function masksOf(net: Net, model: Sequential): (Float32Array | undefined)[] {
  return net.blocks.map((b, l) => (b.dropout ? mask(model.backend, ROWS * b.units, b.dropout, 7, l) : undefined));
}

describe.each(BACKEND_NAMES)('batch normalization in models on %s', (backend) => {
  it.each(NETS)('backprop through the batch statistics equals finite differences: $name', async ({ net }) => {
    const model = await build(net, backend);
    try {
      const { x, y } = data(net, 3);
      const weights = model.getWeights().map((w) => Array.from(w));
      const masks = masksOf(net, model);
      // The trainable tensors: every one but the moving statistics (the last two of each normalised layer).
      const trainable = model.getWeights().map((_, i) => i).filter((i) => !isMovingStatistic(net, i));
      const h = 1e-6;
      const want = trainable.map((t) => weights[t].map((_, i) => {
        const keep = weights[t][i];
        weights[t][i] = keep + h;
        const plus = loss64(net, x, y, weights, masks).loss;
        weights[t][i] = keep - h;
        const minus = loss64(net, x, y, weights, masks).loss;
        weights[t][i] = keep;
        return (plus - minus) / (2 * h);
      }));
      const { loss, grads } = model._computeGradients(x, y);
      const loss64Value = loss64(net, x, y, weights, masks).loss;
      expect(Math.abs(loss - loss64Value)).toBeLessThanOrEqual(1e-5 * Math.abs(loss64Value) + 1e-6);
      expect(grads.length).toBe(trainable.length);
      const scale = Math.max(...want.flat().map(Math.abs));
      grads.forEach((g, t) => expectClose(g, want[t], want[t].map((w) => 1e-4 * Math.abs(w) + 1e-5 * scale), `tensor ${trainable[t]}`));
    } finally {
      model.dispose();
    }
  });

  it.each(NETS)('one step moves the moving statistics by 1 − momentum towards the batch\'s (biased variance); predict uses them: $name', async ({ net }) => {
    const model = await build(net, backend);
    try {
      const { x, y } = data(net, 4);
      const before = model.getWeights().map((w) => Array.from(w));
      const { stats } = loss64(net, x, y, before, masksOf(net, model));
      await model.fit(x, y, { epochs: 1, batchSize: ROWS, shuffle: false });
      const after = model.getWeights();
      movingIndices(net).forEach(([mean, variance], k) => {
        expectClose(after[mean], ref.movingAverage(before[mean], stats[k].mean, 0.99), { rtol: 1e-5, atol: 1e-7 }, `moving mean ${k}`);
        expectClose(after[variance], ref.movingAverage(before[variance], stats[k].variance, 0.99), { rtol: 1e-5, atol: 1e-7 }, `moving variance ${k}`);
      });
      // A few more steps, then predict and evaluate against the float64 inference pass.
      await model.fit(x, y, { epochs: 5, batchSize: 4, seed: 1 });
      const w = model.getWeights().map((v) => Array.from(v));
      const want = inference64(net, x, w);
      expectClose(model.predict(x).data, want, { rtol: 1e-5, atol: 1e-6 }, 'predict on the moving statistics');
    } finally {
      model.dispose();
    }
  });
});

/** Indices in getWeights() of each normalised layer's moving mean and variance. */
function movingIndices(net: Net): [number, number][] {
  const out: [number, number][] = [];
  let k = 0;
  for (const b of net.blocks) {
    k += 2;
    if (b.norm === 'none') continue;
    k += ((b.scale ?? true) ? 1 : 0) + ((b.center ?? true) ? 1 : 0);
    out.push([k, k + 1]);
    k += 2;
  }
  return out;
}

function isMovingStatistic(net: Net, i: number): boolean {
  return movingIndices(net).some(([mean, variance]) => i === mean || i === variance);
}

/** The float64 inference pass: each normalization from its moving statistics, no dropout. */
function inference64(net: Net, x: number[][], weights: number[][]): Float64Array {
  const m = x.length;
  let a: ArrayLike<number> = x.flat();
  let width = net.inputs;
  let k = 0;
  for (const b of net.blocks) {
    const n = b.units;
    let z: ArrayLike<number> = ref.biasAdd(ref.gemm(false, false, m, n, width, a, weights[k]).c, weights[k + 1], m, n);
    k += 2;
    const gamma = b.norm !== 'none' && (b.scale ?? true) ? weights[k++] : new Array<number>(n).fill(1);
    const beta = b.norm !== 'none' && (b.center ?? true) ? weights[k++] : new Array<number>(n).fill(0);
    const [mean, variance] = b.norm !== 'none' ? [weights[k], weights[k + 1]] : [[], []];
    if (b.norm !== 'none') k += 2;
    if (b.norm === 'pre') z = ref.batchNormInference(z, m, n, gamma, beta, mean, variance, EPSILON);
    a = ref.activation(b.act, z, m, n);
    if (b.norm === 'post') a = ref.batchNormInference(a, m, n, gamma, beta, mean, variance, EPSILON);
    width = n;
  }
  return Float64Array.from(a);
}

describe('the batchNormalization layer and where it may go', () => {
  it('defaults as TF.js and Keras; checks each setting, naming it', () => {
    expect(batchNormalization()).toEqual({ type: 'batchNormalization', momentum: 0.99, epsilon: 0.001, center: true, scale: true });
    expect(batchNormalization({ momentum: 0, epsilon: 1e-5, center: false, scale: false, axis: -1 })).toEqual({
      type: 'batchNormalization', momentum: 0, epsilon: 1e-5, center: false, scale: false,
    });
    const bad: [object, RegExp, string][] = [
      [{ momentum: 1.5 }, /momentum must be a number in \[0, 1\], got 1.5/, 'momentum'],
      [{ momentum: -0.1 }, /momentum must be a number in \[0, 1\]/, 'momentum'],
      [{ epsilon: 0 }, /epsilon must be a finite number > 0, got 0/, 'epsilon'],
      [{ center: 'yes' }, /center must be true or false/, 'center'],
      [{ scale: 1 }, /scale must be true or false/, 'scale'],
      [{ axis: 0 }, /axis must be -1 \(or 1\)/, 'axis'],
      [{ inputShape: [3] }, /config has no option "inputShape"/, 'config.inputShape'],
    ];
    for (const [config, message, argument] of bad) {
      const err = (() => { try { batchNormalization(config); } catch (e) { return e; } })() as SimdnetError;
      expect(err).toBeInstanceOf(SimdnetError);
      expect(err.message).toMatch(message);
      expect(err.argument).toBe(argument);
    }
  });

  it('refuses it first, twice after one dense layer, after dropout, and after the output activation; and an activation after it when it follows one', async () => {
    const refused: [LayerConfig[], RegExp, string][] = [
      [[batchNormalization(), dense({ units: 1, inputShape: [2] })], /layers\[0\] must be a dense layer, got a batchNormalization layer \(a batchNormalization layer normalises/, 'layers[0]'],
      [[dense({ units: 3, inputShape: [2] }), batchNormalization(), batchNormalization(), dense({ units: 1 })], /layers\[2\], a batchNormalization layer, must come right after a dense layer or its activation: one per dense layer/, 'layers[2]'],
      [[dense({ units: 3, inputShape: [2] }), dropout({ rate: 0.1 }), batchNormalization(), dense({ units: 1 })], /layers\[2\], a batchNormalization layer.*before any dropout/, 'layers[2]'],
      [[dense({ units: 3, inputShape: [2] }), dense({ units: 2, activation: 'softmax' }), batchNormalization()], /layers\[2\], a batchNormalization layer after the output layer's softmax activation, is not supported/, 'layers[2]'],
      [[dense({ units: 3, activation: 'relu', inputShape: [2] }), batchNormalization(), activation({ activation: 'tanh' }), dense({ units: 1 })], /layers\[2\], an activation layer, must follow a dense layer with a linear activation/, 'layers[2]'],
      [[dense({ units: 3, inputShape: [2] }), { type: 'batchNormalization', momentum: 2 } as unknown as LayerConfig], /layers\[1\]\.momentum must be a number in \[0, 1\]/, 'layers[1].momentum'],
    ];
    for (const [layers, message, argument] of refused) {
      const err = await sequential({ layers, backend: 'js' }).catch((e: unknown) => e) as SimdnetError;
      expect(err).toBeInstanceOf(SimdnetError);
      expect(err.message).toMatch(message);
      expect(err.argument).toBe(argument);
    }
  });

  it('before the activation when it follows a linear dense layer, after it otherwise; model.layers keeps the order given', async () => {
    const model = await sequential({
      layers: [
        dense({ units: 4, inputShape: [2] }), batchNormalization(), activation({ activation: 'relu' }),
        dense({ units: 3, activation: 'tanh' }), batchNormalization({ scale: false }), dropout({ rate: 0.1 }),
        dense({ units: 3 }), activation({ activation: 'elu' }), batchNormalization({ center: false }),
        dense({ units: 1, activation: 'sigmoid' }),
      ],
      backend: 'js',
    });
    expect(model.layers.map((l) => l.type)).toEqual([
      'dense', 'batchNormalization', 'activation', 'dense', 'batchNormalization', 'dropout', 'dense', 'activation', 'batchNormalization', 'dense',
    ]);
    // W, b, γ, β, μ, σ²; W, b, β, μ, σ²; W, b, γ, μ, σ²; W, b.
    expect(model.getWeights().map((w) => w.length)).toEqual([8, 4, 4, 4, 4, 4, 12, 3, 3, 3, 3, 9, 3, 3, 3, 3, 3, 1]);
    expect(model.countParams()).toBe(8 + 4 + 4 * 4 + 12 + 3 + 3 * 3 + 9 + 3 + 3 * 3 + 3 + 1);
    expect(model.summary()).toMatch(/batch_normalization_1 \(BatchNormalization\)\s+\[batch, 4\]\s+16\s+relu/);
    expect(model.summary()).toMatch(/Total params: 77 \(trainable 57, non-trainable 20: the moving statistics\)/);
    // Initial γ 1, β 0, moving mean 0, moving variance 1.
    const w = model.getWeights();
    expect([w[2], w[3], w[4], w[5]].map((t) => Array.from(t))).toEqual([[1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]]);
    // setWeights checks the variances, naming the tensor, and changes nothing when it refuses.
    const bad = w.map((t) => t.slice());
    bad[5][2] = -1;
    expect(() => model.setWeights(bad)).toThrow(/weights\[5\] \(moving variance 1\) must hold finite numbers ≥ 0 \(a variance\), got -1 at index 2/);
    expect(model.getWeights()).toEqual(w);
    model.dispose();
  });
});
