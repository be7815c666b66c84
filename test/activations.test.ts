/**
 * Bias add, column sums, activations (forward, fused with bias, backward) on every backend
 * against the float64 reference.
 *
 * Tolerances: elementwise results are one float32 rounding of a function of float32 inputs, so a
 * correct kernel is within a few ulps (~1e-7 relative); a float32 exp/tanh may add a few more.
 * We allow 1e-5 relative plus a small absolute floor: 1e-7 for O(1) outputs (an ulp of 1 is
 * 1.2e-7, e.g. tanh or softmax built from a difference or a sum), and 1e-38 for the saturating
 * tails, where values below float32's normal range (1.2e-38) keep fewer than 24 bits.
 * Sums of m terms (colSum) get the summation bound (m+1)·u·Σ|x|.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATION, type ActivationName, type Backend } from '../src/backend/index.js';
import { BACKEND_NAMES, BOTH_BACKENDS, guarded, makeBackend, read, scoped, upload } from './backends.js';
import { expectClose, U32 } from './assert.js';
import { mulberry32, uniform } from './prng.js';
import * as ref from './reference.js';

const ELEMENTWISE = { rtol: 1e-5, atol: 1e-7 };
const ACTS: ActivationName[] = ['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu', 'softmax', 'elu', 'selu', 'softplus', 'swish', 'gelu', 'relu6'];
const SHAPES: [number, number][] = [[1, 1], [1, 3], [3, 4], [4, 5], [5, 17], [17, 33], [33, 67], [67, 130], [130, 3]];
const ALPHA = 0.2;

/** z in [−8, 8] with a few exact zeros (relu's kink) sprinkled in. */
function logits(seed: number, len: number): Float32Array {
  const z = uniform(mulberry32(seed), len, -8, 8);
  for (let i = 0; i < len; i += 7) z[i] = 0;
  return z;
}

/** Forward activation with optional bias, optionally in place. */
function forward(
  b: Backend, act: ActivationName, x: Float32Array, m: number, n: number,
  opts: { bias?: Float32Array; inPlace?: boolean } = {},
): Float32Array {
  return scoped(b, () => {
    const xp = upload(b, x);
    const bias = opts.bias ? upload(b, opts.bias) : 0;
    const out = opts.inPlace ? { ptr: xp, check() {} } : guarded(b, m * n);
    if (opts.bias) b.biasActivation(ACTIVATION[act], xp, bias, out.ptr, m, n, ALPHA);
    else b.activation(ACTIVATION[act], xp, out.ptr, m, n, ALPHA);
    out.check();
    if (!opts.inPlace) {
      // The input is untouched when not aliased.
      expect(Array.from(read(b, xp, m * n))).toEqual(Array.from(x));
    }
    return read(b, out.ptr, m * n);
  });
}

function backward(
  b: Backend, act: ActivationName, a: Float32Array, dA: Float32Array, m: number, n: number, inPlace: boolean,
): Float32Array {
  return scoped(b, () => {
    const ap = upload(b, a);
    const gp = upload(b, dA);
    const out = inPlace ? { ptr: gp, check() {} } : guarded(b, m * n);
    b.activationBackward(ACTIVATION[act], ap, gp, out.ptr, m, n, ALPHA);
    out.check();
    return read(b, out.ptr, m * n);
  });
}

describe.each(BACKEND_NAMES)('bias and reductions on %s', (name) => {
  let b: Backend;
  beforeAll(async () => { b = await makeBackend(name); });

  it.each(SHAPES)('biasAdd %i×%i', (m, n) => {
    const rng = mulberry32(m * 131 + n);
    const x = uniform(rng, m * n, -4, 4);
    const bias = uniform(rng, n, -4, 4);
    const got = scoped(b, () => {
      const xp = upload(b, x);
      b.biasAdd(xp, upload(b, bias), m, n);
      return read(b, xp, m * n);
    });
    expectClose(got, ref.biasAdd(x, bias, m, n), { rtol: 0, atol: 8 * 2 * U32 }, `biasAdd ${m}×${n}`);
  });

  it.each(SHAPES)('colSum %i×%i, accumulate off and on', (m, n) => {
    const rng = mulberry32(m * 17 + n);
    const x = uniform(rng, m * n, -1, 1);
    const out0 = uniform(rng, n, -1, 1);
    for (const acc of [false, true]) {
      const got = scoped(b, () => {
        const out = guarded(b, n, acc ? out0 : new Float32Array(n).fill(NaN));
        b.colSum(upload(b, x), m, n, out.ptr, acc);
        out.check();
        return read(b, out.ptr, n);
      });
      const want = ref.colSum(x, m, n, acc ? out0 : undefined);
      const absSum = ref.colSum(x.map(Math.abs), m, n, acc ? out0.map(Math.abs) : undefined);
      expectClose(got, want, absSum.map((s) => (m + 2) * U32 * s), `colSum ${m}×${n} accumulate=${acc}`);
    }
  });
});

describe.each(BACKEND_NAMES)('activations on %s', (name) => {
  let b: Backend;
  beforeAll(async () => { b = await makeBackend(name); });

  describe.each(ACTS)('%s', (act) => {
    it.each(SHAPES)('forward %i×%i, separate output and in place', (m, n) => {
      const z = logits(m * 1009 + n, m * n);
      const want = ref.activation(act, z, m, n, ALPHA);
      expectClose(forward(b, act, z, m, n), want, ELEMENTWISE, `${act} ${m}×${n}`);
      expectClose(forward(b, act, z, m, n, { inPlace: true }), want, ELEMENTWISE, `${act} ${m}×${n} y==x`);
    });

    it.each(SHAPES)('biasActivation %i×%i equals g(x + bias), separate output and in place', (m, n) => {
      const rng = mulberry32(m * 7 + n * 3);
      const x = uniform(rng, m * n, -6, 6);
      const bias = uniform(rng, n, -2, 2);
      // x + bias rounded to float32 once, as the kernel forms it before g.
      const pre = Float32Array.from(ref.biasAdd(x, bias, m, n));
      const want = ref.activation(act, pre, m, n, ALPHA);
      expectClose(forward(b, act, x, m, n, { bias }), want, ELEMENTWISE, `bias+${act} ${m}×${n}`);
      expectClose(forward(b, act, x, m, n, { bias, inPlace: true }), want, ELEMENTWISE, `bias+${act} ${m}×${n} y==x`);
    });

    it.each(SHAPES)('backward %i×%i from a = g(z) (or z itself), separate output and dZ == dA', (m, n) => {
      const rng = mulberry32(m * 3 + n * 11);
      const z = logits(m * 5 + n, m * n);
      const a = ref.FROM_Z.includes(act) ? z : Float32Array.from(ref.activation(act, z, m, n, ALPHA));
      const dA = uniform(rng, m * n, -1, 1);
      const want = ref.activationBackwardFromA(act, a, dA, m, n, ALPHA);
      // Softmax subtracts Σ dA·a from dA: allow that sum's rounding, |dA|·Σ|dA_j a_j|·n·u, too.
      const tol = want.map((w, i) => 1e-5 * Math.abs(w) + 1e-7 + (act === 'softmax' ? (n + 2) * U32 * Math.abs(a[i]) : 0));
      expectClose(backward(b, act, a, dA, m, n, false), want, tol, `${act}' ${m}×${n}`);
      expectClose(backward(b, act, a, dA, m, n, true), want, tol, `${act}' ${m}×${n} dZ==dA`);
    });
  });

  it('leakyRelu uses alpha on the negative side only', () => {
    const z = Float32Array.from([-2, -0.5, 0, 0.5, 2]);
    for (const alpha of [0.01, 0.3]) {
      const got = scoped(b, () => {
        const p = upload(b, z);
        b.activation(ACTIVATION.leakyRelu, p, p, 1, 5, alpha);
        return read(b, p, 5);
      });
      expectClose(got, [-2 * alpha, -0.5 * alpha, 0, 0.5, 2], { rtol: 1e-7, atol: 0 }, `leakyRelu alpha=${alpha}`);
    }
  });

  it('sigmoid and tanh saturate without overflow at large |z|', () => {
    const z = Float32Array.from([-3e38, -1e4, -100, -88, -20, -1e-3, 0, 1e-3, 20, 88, 100, 1e4, 3e38]);
    // Float64 reference values: σ(z) = 1/(1+e^−z), tanh(z) = ±1 beyond |z| ≈ 19.
    const sig = Array.from(z, (v) => (v < -700 ? 0 : 1 / (1 + Math.exp(-v))));
    const tanh = Array.from(z, (v) => Math.tanh(v));
    const s = forward(b, 'sigmoid', z, 1, z.length);
    const t = forward(b, 'tanh', z, 1, z.length);
    expect(Array.from(s).every(Number.isFinite)).toBe(true);
    expect(Array.from(t).every(Number.isFinite)).toBe(true);
    expectClose(s, sig, { rtol: 1e-5, atol: 1e-38 }, 'sigmoid at large |z|');
    expectClose(t, tanh, { rtol: 1e-5, atol: 1e-38 }, 'tanh at large |z|');
    expect(s[z.length - 1]).toBe(1);
    expect(s[0]).toBe(0);
  });

  it('softmax is finite and correct for large logits (max-subtracted)', () => {
    const rows = [
      [1000, 999, 998, 0],
      [-1000, -1001, -1002, -1003],
      [88, 88, 88, 88],
      [1e4, 0, -1e4, 1e4],
      [3e38, 3e38, 0, -3e38],
      [-3e38, 0, 1, 2],
    ];
    const z = Float32Array.from(rows.flat());
    const want = ref.activation('softmax', z, rows.length, 4);
    const got = forward(b, 'softmax', z, rows.length, 4);
    expect(Array.from(got).every(Number.isFinite)).toBe(true);
    expectClose(got, want, ELEMENTWISE, 'softmax with large logits');
    expect(got[8]).toBeCloseTo(0.25, 7);
    expect(got[12] + got[15]).toBeCloseTo(1, 6);
  });

  it('each softmax row sums to 1', () => {
    const [m, n] = [33, 67];
    const got = forward(b, 'softmax', uniform(mulberry32(5), m * n, -20, 20), m, n);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += got[i * n + j];
      expect(Math.abs(s - 1)).toBeLessThan(n * U32 * 2);
    }
  });
});

/**
 * The maximum errors docs/ARCHITECTURE.md states ('Where the math lives', Accuracy), rounded up:
 * relative for g where the float64 value is a normal float (swish above z = −87.3 and gelu above
 * z = −13, below which their exponentials flush to 0), absolute for g′ (given a or z as the
 * backward pass keeps it).
 */
const ACCURACY: Record<string, { wasm: number; js: number; derivative: number }> = {
  sigmoid: { wasm: 2.5e-7, js: 6e-8, derivative: 1e-7 },
  tanh: { wasm: 2e-7, js: 6e-8, derivative: 2.5e-7 },
  elu: { wasm: 2e-7, js: 6e-8, derivative: 1e-7 },
  selu: { wasm: 2.5e-7, js: 6e-8, derivative: 2e-7 },
  softplus: { wasm: 2.5e-7, js: 6e-8, derivative: 1e-7 },
  swish: { wasm: 2.5e-7, js: 6e-8, derivative: 2.5e-7 },
  gelu: { wasm: 8e-6, js: 2e-7, derivative: 2.5e-7 },
  relu6: { wasm: 0, js: 0, derivative: 0 },
};

describe.each(BACKEND_NAMES)('activation accuracy on %s', (name) => {
  let b: Backend;
  beforeAll(async () => { b = await makeBackend(name); });

  it.each(Object.keys(ACCURACY) as ActivationName[])('%s within its documented error bounds on dense grids', (act) => {
    const n = 1 << 16;
    const ones = new Float32Array(n).fill(1);
    let worst = 0;
    let worstDerivative = 0;
    for (const [lo, hi] of [[-90, 90], [-10, 10], [-1, 1], [-1e-3, 1e-3]]) {
      const z = Float32Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
      const a = forward(b, act, z, 1, n);
      const d = backward(b, act, ref.FROM_Z.includes(act) ? z : a, ones, 1, n, false);
      const want = ref.activation(act, z, 1, n);
      const wantD = ref.activationBackwardFromZ(act, z, ones, 1, n);
      const floor = act === 'gelu' ? -13 : act === 'swish' ? -87.3 : -Infinity;
      for (let i = 0; i < n; i++) {
        if (Math.abs(want[i]) >= 2 ** -126 && z[i] > floor) worst = Math.max(worst, Math.abs(a[i] - want[i]) / Math.abs(want[i]));
        worstDerivative = Math.max(worstDerivative, Math.abs(d[i] - wantD[i]));
      }
    }
    expect(worst).toBeLessThanOrEqual(ACCURACY[act][name]);
    expect(worstDerivative).toBeLessThanOrEqual(ACCURACY[act].derivative);
  });
});

describe.runIf(BOTH_BACKENDS)('activations: wasm agrees with js', () => {
  let js: Backend;
  let wasm: Backend;
  beforeAll(async () => { js = await makeBackend('js'); wasm = await makeBackend('wasm'); });
  const twice = { rtol: 2 * ELEMENTWISE.rtol, atol: 2 * ELEMENTWISE.atol };

  it.each(ACTS)('%s forward, fused and backward on 67×130', (act) => {
    const [m, n] = [67, 130];
    const rng = mulberry32(2024);
    const z = uniform(rng, m * n, -10, 10);
    const bias = uniform(rng, n, -1, 1);
    const dA = uniform(rng, m * n, -1, 1);
    expectClose(forward(wasm, act, z, m, n), forward(js, act, z, m, n), twice, `${act}: wasm vs js`);
    expectClose(forward(wasm, act, z, m, n, { bias }), forward(js, act, z, m, n, { bias }), twice,
      `bias+${act}: wasm vs js`);
    const a = ref.FROM_Z.includes(act) ? z : forward(js, act, z, m, n);
    const tol = act === 'softmax' ? { rtol: 2e-5, atol: 2 * (n + 2) * U32 } : twice;
    expectClose(backward(wasm, act, a, dA, m, n, false), backward(js, act, a, dA, m, n, false), tol,
      `${act}': wasm vs js`);
  });
});
