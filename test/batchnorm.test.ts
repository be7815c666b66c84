/**
 * The batch normalization kernels on every backend against the float64 reference of
 * test/reference.ts (whose backward pass is the textbook chain rule, not the kernels' compact
 * formula): training forward with and without a bias, backward, inference, moving averages; on
 * shapes across the f32x4 column edges, in place where the kernels allow it, with guard floats
 * around every output.
 *
 * Tolerances. Each column sum runs over m ≤ 64 float32 terms (error below m·u of the sum of
 * magnitudes, u = 2^-24); xhat = (x − μ)·invStd then carries an absolute error of a few u·max|x|/σ,
 * and dx sums two such column sums per element. The data have σ of order 1 and |x| ≤ 3, so 2e-5
 * absolute (plus 1e-5 relative) is tens of times the float32 error and far below a wrong formula
 * (a missing 1/m, an unbiased variance or a dropped term change entries by O(1/m) or more).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/index.js';
import { BACKEND_NAMES, BOTH_BACKENDS, guarded, makeBackend, read, scoped, upload } from './backends.js';
import { expectClose } from './assert.js';
import { mulberry32, uniform } from './prng.js';
import * as ref from './reference.js';

const SHAPES: [number, number][] = [[1, 4], [2, 1], [7, 3], [8, 5], [16, 17], [64, 33], [5, 128]];
const TOL = { rtol: 1e-5, atol: 2e-5 };
const EPSILON = 1e-3;

interface Case { x: Float32Array; gamma: Float32Array; beta: Float32Array; bias: Float32Array; dy: Float32Array }

function makeCase(m: number, n: number, seed: number): Case {
  const rand = mulberry32(seed);
  // Columns with their own offsets and scales, so that the mean matters.
  const offsets = uniform(rand, n, -1, 1);
  const x = Float32Array.from(uniform(rand, m * n, -2, 2), (v, k) => v + offsets[k % n]);
  return { x, gamma: uniform(rand, n, 0.5, 2), beta: uniform(rand, n, -1, 1), bias: uniform(rand, n, -1, 1), dy: uniform(rand, m * n, -1, 1) };
}

/** Runs batchNormTrain; `inPlace` writes xhat over x (as the pre-activation layers do). */
function train(b: Backend, c: Case, m: number, n: number, withBias: boolean, inPlace: boolean) {
  return scoped(b, () => {
    const x = upload(b, c.x), gamma = upload(b, c.gamma), beta = upload(b, c.beta);
    const bias = withBias ? upload(b, c.bias) : 0;
    const mean = guarded(b, n), variance = guarded(b, n), invStd = guarded(b, n), y = guarded(b, m * n);
    const xhat = inPlace ? { ptr: x, check() {} } : guarded(b, m * n);
    b.batchNormTrain(x, m, n, bias, gamma, beta, EPSILON, mean.ptr, variance.ptr, invStd.ptr, xhat.ptr, y.ptr);
    for (const g of [mean, variance, invStd, y, xhat]) g.check();
    return {
      z: read(b, x, m * n), mean: read(b, mean.ptr, n), variance: read(b, variance.ptr, n), invStd: read(b, invStd.ptr, n),
      xhat: read(b, xhat.ptr, m * n), y: read(b, y.ptr, m * n),
    };
  });
}

describe.each(BACKEND_NAMES)('batch normalization kernels on %s', (name) => {
  let b: Backend;
  beforeAll(async () => { b = await makeBackend(name); });

  it.each(SHAPES)('training forward %i×%i: batch mean, biased variance, xhat and y, with and without a bias', (m, n) => {
    const c = makeCase(m, n, 100 * m + n);
    for (const withBias of [false, true]) {
      const z = withBias ? Float64Array.from(c.x, (v, k) => Math.fround(v + c.bias[k % n])) : Float64Array.from(c.x);
      const want = ref.batchNormTrain(z, m, n, c.gamma, c.beta, EPSILON);
      for (const inPlace of [false, true]) {
        const got = train(b, c, m, n, withBias, inPlace);
        const what = `${m}×${n}${withBias ? ' bias' : ''}${inPlace ? ' in place' : ''}`;
        if (withBias && !inPlace) expectClose(got.z, z, { rtol: 0, atol: 0 }, `${what}: z = x + b written back`);
        expectClose(got.mean, want.mean, TOL, `${what}: mean`);
        expectClose(got.variance, want.variance, TOL, `${what}: variance`);
        expectClose(got.invStd, want.variance.map((v) => 1 / Math.sqrt(v + EPSILON)), { rtol: 2e-5, atol: 0 }, `${what}: invStd`);
        expectClose(got.xhat, want.xhat, TOL, `${what}: xhat`);
        expectClose(got.y, want.y, TOL, `${what}: y`);
      }
    }
  });

  it.each(SHAPES)('backward %i×%i: dγ, dβ and dx equal the chain rule through the batch statistics', (m, n) => {
    const c = makeCase(m, n, 7 * m + n);
    const want = ref.batchNormBackward(c.dy, c.x, m, n, c.gamma, EPSILON);
    for (const inPlace of [false, true]) {
      const got = scoped(b, () => {
        const x = upload(b, c.x), gamma = upload(b, c.gamma), beta = upload(b, c.beta);
        const mean = b.alloc(n), variance = b.alloc(n), invStd = b.alloc(n), y = b.alloc(m * n);
        b.batchNormTrain(x, m, n, 0, gamma, beta, EPSILON, mean, variance, invStd, x, y);
        const dy = upload(b, c.dy);
        const dgamma = guarded(b, n), dbeta = guarded(b, n, new Float32Array(n).fill(7));
        const dx = inPlace ? { ptr: dy, check() {} } : guarded(b, m * n);
        b.batchNormBackward(dy, x, m, n, gamma, invStd, dgamma.ptr, dbeta.ptr, dx.ptr);
        for (const g of [dgamma, dbeta, dx]) g.check();
        return { dx: read(b, dx.ptr, m * n), dgamma: read(b, dgamma.ptr, n), dbeta: read(b, dbeta.ptr, n) };
      });
      const what = `${m}×${n}${inPlace ? ' in place' : ''}`;
      expectClose(got.dbeta, want.dbeta, TOL, `${what}: dβ`);
      expectClose(got.dgamma, want.dgamma, TOL, `${what}: dγ`);
      expectClose(got.dx, want.dx, TOL, `${what}: dx`);
    }
  });

  it.each(SHAPES)('inference %i×%i from the moving statistics, with and without a bias, in place', (m, n) => {
    const c = makeCase(m, n, 3 * m + n);
    const rand = mulberry32(m + 17 * n);
    const mean = uniform(rand, n, -1, 1), variance = uniform(rand, n, 0.1, 3);
    for (const withBias of [false, true]) {
      const z = withBias ? Float64Array.from(c.x, (v, k) => Math.fround(v + c.bias[k % n])) : c.x;
      const want = ref.batchNormInference(z, m, n, c.gamma, c.beta, mean, variance, EPSILON);
      const got = scoped(b, () => {
        const x = upload(b, c.x);
        const scale = guarded(b, n);
        b.batchNormInference(x, m, n, withBias ? upload(b, c.bias) : 0, upload(b, c.gamma), upload(b, c.beta),
          upload(b, mean), upload(b, variance), EPSILON, scale.ptr, x);
        scale.check();
        return read(b, x, m * n);
      });
      expectClose(got, want, TOL, `${m}×${n}${withBias ? ' bias' : ''}`);
    }
  });

  it('moving averages as TF.js writes them: moving − (moving − batch)·(1 − momentum)', () => {
    const rand = mulberry32(9);
    for (const n of [1, 3, 4, 13]) {
      for (const momentum of [0.99, 0.5, 0, 1]) {
        const moving = uniform(rand, n, -2, 2), batch = uniform(rand, n, -2, 2);
        const got = scoped(b, () => {
          const p = upload(b, moving);
          b.movingAverage(p, upload(b, batch), n, momentum);
          return read(b, p, n);
        });
        const decay = Math.fround(1 - momentum);
        const exact = Float32Array.from(moving, (v, i) => Math.fround(v - Math.fround(Math.fround(v - batch[i]) * decay)));
        expect(got, `n ${n}, momentum ${momentum}`).toEqual(exact);
        expectClose(got, ref.movingAverage(moving, batch, momentum), { rtol: 1e-6, atol: 1e-6 }, 'vs Keras\' form');
      }
    }
  });
});

describe.runIf(BOTH_BACKENDS)('batch normalization: wasm and js agree', () => {
  it('to float32 rounding on every output', async () => {
    const [js, wasm] = [await makeBackend('js'), await makeBackend('wasm')];
    const c = makeCase(64, 37, 5);
    const [a, w] = [train(js, c, 64, 37, true, true), train(wasm, c, 64, 37, true, true)];
    for (const key of ['mean', 'variance', 'xhat', 'y'] as const) expectClose(w[key], a[key], { rtol: 1e-6, atol: 2e-6 }, key);
  });
});
