/**
 * The optimizers of TensorFlow.js and Keras (SGD with momentum and Nesterov, RMSProp plain and
 * centered with and without momentum, Adagrad, AdamW) and gradient clipping, on every backend:
 * against the float64 reference of test/reference.ts, step by step against the real
 * tf.train.* optimizers (AdamW, which TF.js lacks, against the reference only), the flush of
 * subnormal state, and whole models compiled with each optimizer. Tolerances as in
 * optimizers.test.ts: weights and state live in float32 between steps, so 1e-5·(|w| + lr·t).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Ptr } from '../src/backend/index.js';
import { clipGradients, parseOptimizer, stateSlots, type UpdateMemory } from '../src/optimizers.js';
import { dense, loadModel, sequential } from '../src/index.js';
import { BACKEND_NAMES, makeBackend, read, scoped, upload } from './backends.js';
import { expectClose } from './assert.js';
import { mulberry32, uniform } from './prng.js';
import * as ref from './reference.js';

type Opt =
  | { type: 'sgdMomentum'; lr: number; mu: number; nesterov: boolean; l2: number }
  | { type: 'rmsprop'; lr: number; rho: number; epsilon: number; mu: number; centered: boolean }
  | { type: 'adagrad'; lr: number; initial: number; epsilon: number }
  | { type: 'adamw'; lr: number; beta1: number; beta2: number; epsilon: number; weightDecay: number };

/** Runs the kernel over the gradients (t = 1, 2, …); returns w after each step and the final state slots. */
function runSteps(b: Backend, opt: Opt, w0: ArrayLike<number>, grads: ArrayLike<number>[]): { ws: Float32Array[]; state: Float32Array[] } {
  const n = w0.length;
  return scoped(b, () => {
    const w = upload(b, w0);
    const g = b.alloc(n);
    const s: Ptr[] = [b.alloc(n), b.alloc(n), b.alloc(n)];
    if (opt.type === 'adagrad') b.fill(s[0], n, opt.initial);
    const ws: Float32Array[] = [];
    grads.forEach((grad, step) => {
      b.f32.set(grad, g >> 2);
      if (opt.type === 'sgdMomentum') b.sgdMomentum(w, g, s[0], n, opt.lr, opt.mu, opt.nesterov, opt.l2);
      else if (opt.type === 'rmsprop') b.rmsprop(w, g, s[0], opt.mu > 0 ? s[1] : 0, opt.centered ? s[2] : 0, n, opt.lr, opt.rho, opt.epsilon, opt.mu, opt.centered);
      else if (opt.type === 'adagrad') b.adagrad(w, g, s[0], n, opt.lr, opt.epsilon);
      else b.adamw(w, g, s[0], s[1], n, opt.lr, opt.beta1, opt.beta2, opt.epsilon, opt.weightDecay, step + 1);
      ws.push(read(b, w, n));
    });
    return { ws, state: s.map((p) => read(b, p, n)) };
  });
}

function reference(opt: Opt, w0: ArrayLike<number>, grads: ArrayLike<number>[]): Float64Array[] {
  switch (opt.type) {
    case 'sgdMomentum': return ref.sgdMomentumSteps(w0, grads, opt.lr, opt.mu, opt.nesterov, opt.l2);
    case 'rmsprop': return ref.rmspropSteps(w0, grads, opt.lr, opt.rho, opt.epsilon, opt.mu, opt.centered);
    case 'adagrad': return ref.adagradSteps(w0, grads, opt.lr, opt.initial, opt.epsilon);
    case 'adamw': return ref.adamwSteps(w0, grads, opt.lr, opt.beta1, opt.beta2, opt.epsilon, opt.weightDecay);
  }
}

const tol = (lr: number, t: number): { rtol: number; atol: number } => ({ rtol: 1e-5, atol: 1e-5 * lr * t });

const CASES: Opt[] = [
  { type: 'sgdMomentum', lr: 0.05, mu: 0.9, nesterov: false, l2: 0 },
  { type: 'sgdMomentum', lr: 0.05, mu: 0.8, nesterov: true, l2: 0 },
  { type: 'sgdMomentum', lr: 0.05, mu: 0.9, nesterov: true, l2: 0.01 },
  { type: 'rmsprop', lr: 0.01, rho: 0.9, epsilon: 1e-7, mu: 0, centered: false },
  { type: 'rmsprop', lr: 0.01, rho: 0.8, epsilon: 1e-7, mu: 0.9, centered: false },
  { type: 'rmsprop', lr: 0.01, rho: 0.9, epsilon: 1e-7, mu: 0, centered: true },
  { type: 'rmsprop', lr: 0.01, rho: 0.9, epsilon: 1e-6, mu: 0.5, centered: true },
  { type: 'adagrad', lr: 0.1, initial: 0.1, epsilon: 1e-7 },
  { type: 'adamw', lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0.004 },
  { type: 'adamw', lr: 0.01, beta1: 0.8, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1 },
];

function problem(seed: number, n: number, steps: number, zeros = true): { w0: Float32Array; grads: Float32Array[] } {
  const rng = mulberry32(seed);
  const w0 = uniform(rng, n, -2, 2);
  const grads = Array.from({ length: steps }, () => {
    const g = uniform(rng, n, -1, 1);
    if (zeros) for (let i = 0; i < n; i += 5) g[i] = 0; // exact zeros
    return g;
  });
  return { w0, grads };
}

describe.each(BACKEND_NAMES)('TensorFlow.js and Keras optimizers on %s', (name) => {
  let b: Backend;
  beforeAll(async () => {
    b = await makeBackend(name);
    tf.env().set('IS_TEST', true);
    await tf.setBackend('cpu');
  });

  it.each(CASES)('%o over 6 steps on 67 weights matches the float64 reference', (opt) => {
    const { w0, grads } = problem(11, 67, 6);
    const { ws } = runSteps(b, opt, w0, grads);
    reference(opt, w0, grads).forEach((w, i) => expectClose(ws[i], w, tol(opt.lr, i + 1), `${JSON.stringify(opt)} t=${i + 1}`));
  });

  /** The same steps through tf.train.*, on one variable. */
  function tfSteps(make: () => tf.Optimizer, w0: Float32Array, grads: Float32Array[]): Float32Array[] {
    const v = tf.variable(tf.tensor1d(w0));
    const optimizer = make();
    const out = grads.map((g) => {
      tf.tidy(() => optimizer.applyGradients({ [v.name]: tf.tensor1d(g) }));
      return v.dataSync().slice() as Float32Array;
    });
    optimizer.dispose();
    v.dispose();
    return out;
  }

  it.each([
    [{ type: 'sgdMomentum', lr: 0.05, mu: 0.9, nesterov: false, l2: 0 }, () => tf.train.momentum(0.05, 0.9, false)],
    [{ type: 'sgdMomentum', lr: 0.05, mu: 0.9, nesterov: true, l2: 0 }, () => tf.train.momentum(0.05, 0.9, true)],
    [{ type: 'rmsprop', lr: 0.01, rho: 0.9, epsilon: 1e-7, mu: 0, centered: false }, () => tf.train.rmsprop(0.01, 0.9, 0, 1e-7, false)],
    [{ type: 'rmsprop', lr: 0.01, rho: 0.9, epsilon: 1e-7, mu: 0.9, centered: false }, () => tf.train.rmsprop(0.01, 0.9, 0.9, 1e-7, false)],
    // tfjs' centered RMSProp subtracts ε under the root (√(ms − mg² − ε)); with ε = 1e-12 the two agree.
    [{ type: 'rmsprop', lr: 0.01, rho: 0.9, epsilon: 1e-12, mu: 0.5, centered: true }, () => tf.train.rmsprop(0.01, 0.9, 0.5, 1e-12, true)],
    [{ type: 'adagrad', lr: 0.1, initial: 0.1, epsilon: 1e-7 }, () => tf.train.adagrad(0.1, 0.1)],
  ] as [Opt, () => tf.Optimizer][])('%o agrees with tf.train step by step', (opt, make) => {
    // No exact zeros: there tfjs' centered RMSProp takes the root of −ε.
    const { w0, grads } = problem(29, 37, 8, false);
    const want = tfSteps(make, w0, grads);
    const { ws } = runSteps(b, opt, w0, grads);
    want.forEach((w, i) => expectClose(ws[i], w, { rtol: 2e-5, atol: 2e-5 * opt.lr * (i + 1) }, `${JSON.stringify(opt)} t=${i + 1} vs tfjs`));
  });

  it('state that decays below the smallest normal float is stored as +0', () => {
    // One step with g = 1e-20, then zero gradients: the accumulators decay geometrically.
    const grads = [Float32Array.of(1e-20, -1e-20), ...Array.from({ length: 60 }, () => new Float32Array(2))];
    for (const opt of [CASES[0], CASES[4], CASES[6], CASES[8]]) {
      const { state } = runSteps(b, opt, [1, 1], grads);
      for (const slot of state) {
        for (const v of slot) {
          expect(v === 0 || Math.abs(v) >= 2 ** -126, `${opt.type}: state ${v} is subnormal`).toBe(true);
          if (v === 0) expect(Object.is(v, -0), `${opt.type}: −0 stored`).toBe(false);
        }
      }
    }
  });

  it('clipNorm rescales the whole gradient, clipValue clamps each value, as the reference', () => {
    const n = 103;
    const g = uniform(mulberry32(3), n, -2, 2);
    for (const [clipNorm, clipValue] of [[1, 0], [100, 0], [0, 0.5], [3, 0.25]]) {
      const got = scoped(b, () => {
        const grads = upload(b, g);
        const mem: UpdateMemory = { params: 0, grads, state0: 0, state1: 0, state2: 0, scratch: b.alloc(4) };
        clipGradients(b, parseOptimizer('test', { type: 'sgd', clipNorm, clipValue }), mem, n);
        return read(b, grads, n);
      });
      expectClose(got, ref.clip(g, clipNorm, clipValue), { rtol: 1e-6, atol: 1e-7 }, `clipNorm ${clipNorm}, clipValue ${clipValue}`);
    }
  });
});

describe.each(BACKEND_NAMES)('models compiled with the new optimizers on %s', (backend) => {
  const CONFIGS = [
    { type: 'sgd', momentum: 0.9, nesterov: true, learningRate: 0.05 },
    { type: 'rmsprop', momentum: 0.5, centered: true, clipNorm: 1 },
    { type: 'adagrad', learningRate: 0.1, clipValue: 0.1 },
    { type: 'adamw', learningRate: 0.01, weightDecay: 0.01 },
  ] as const;

  it.each(CONFIGS)('$type trains, saves its state slots and resumes exactly', async (config) => {
    const make = () => sequential({
      layers: [dense({ units: 8, activation: 'relu', inputShape: [3] }), dense({ units: 1, activation: 'sigmoid' })],
      backend, seed: 3,
    });
    const rng = mulberry32(8);
    const x = { data: uniform(rng, 64 * 3, -1, 1), shape: [64, 3] as [number, number] };
    const y = Array.from({ length: 64 }, (_, i) => (x.data[3 * i] + x.data[3 * i + 1] > 0 ? 1 : 0));
    const straight = await make();
    straight.compile({ loss: 'bce', optimizer: config });
    const first = await straight.fit(x, y, { epochs: 6, batchSize: 16, seed: 4 });
    expect(first.history.loss[5]).toBeLessThan(first.history.loss[0]);
    const resumed = await make();
    resumed.compile({ loss: 'bce', optimizer: config });
    await resumed.fit(x, y, { epochs: 3, batchSize: 16, seed: 4 });
    const bytes = resumed.save();
    const loaded = await loadModel(bytes, { backend });
    await loaded.fit(x, y, { epochs: 6, initialEpoch: 3, batchSize: 16, seed: 4 });
    expect(loaded.getWeights()).toEqual(straight.getWeights());
    expect(stateSlots(parseOptimizer('test', config))).toBe(config.type === 'rmsprop' ? 3 : config.type === 'sgd' ? 1 : config.type === 'adagrad' ? 1 : 2);
    for (const m of [straight, resumed, loaded]) m.dispose();
  });
});
