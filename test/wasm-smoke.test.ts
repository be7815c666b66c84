/**
 * Smoke test of the wasm backend on its own: each kernel once on small inputs, against values
 * worked out by hand from the formulas in backend.ts (the thorough cross-backend suites live in the
 * other test files).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATION, type Backend, type Ptr } from '../src/backend/backend.js';
import { createWasmBackend } from '../src/backend/wasm.js';

let b: Backend;
beforeAll(async () => {
  b = await createWasmBackend();
});

function put(data: number[]): Ptr {
  const p = b.alloc(data.length);
  b.f32.set(data, p >> 2);
  return p;
}
function get(p: Ptr, n: number): number[] {
  return Array.from(b.f32.subarray(p >> 2, (p >> 2) + n));
}
function close(actual: number[], expected: number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(v, `index ${i}`).toBeCloseTo(expected[i], digits));
}

describe('wasm backend: memory', () => {
  it('allocates 16-byte aligned, zero-filled, reusable memory', () => {
    const mark = b.mark();
    const p = b.alloc(3);
    expect(p % 16).toBe(0);
    b.f32.set([1, 2, 3], p >> 2);
    const q = b.alloc(1);
    expect(q).toBe(p + 16);
    b.release(mark);
    const r = b.alloc(5);
    expect(r).toBe(p);
    expect(get(r, 5)).toEqual([0, 0, 0, 0, 0]);
    b.release(mark);
  });

  it('grows memory and re-makes the views', () => {
    const mark = b.mark();
    const before = b.f32.buffer.byteLength;
    const p = b.alloc(before / 4);
    expect(b.f32.buffer.byteLength).toBeGreaterThan(before);
    b.f32[(p >> 2) + 10] = 7;
    expect(b.f32[(p >> 2) + 10]).toBe(7);
    expect(() => b.release(mark + 8)).toThrow(RangeError);
    b.release(mark);
  });

  it('copies, fills and gathers rows', () => {
    const mark = b.mark();
    const src = put([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const dst = b.alloc(9);
    b.copy(src, dst, 9);
    expect(get(dst, 9)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    b.fill(dst, 7, 2.5);
    expect(get(dst, 9)).toEqual([2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 8, 9]);
    const index = b.alloc(2);
    b.i32.set([2, 0], index >> 2);
    b.gatherRows(src, index, 2, 3, dst);
    expect(get(dst, 6)).toEqual([7, 8, 9, 1, 2, 3]);
    b.release(mark);
  });
});

describe('wasm backend: GEMM', () => {
  // A = [[1,2,3],[4,5,6]], B = [[1,2],[3,4],[5,6]]: A·B = [[22,28],[49,64]].
  it('computes A·B, Aᵀ·B and A·Bᵀ, overwriting or accumulating', () => {
    const mark = b.mark();
    const a = put([1, 2, 3, 4, 5, 6]);
    const aT = put([1, 4, 2, 5, 3, 6]); // A stored transposed, [3×2]
    const bb = put([1, 2, 3, 4, 5, 6]);
    const bT = put([1, 3, 5, 2, 4, 6]); // B stored transposed, [2×3]
    const c = put([NaN, NaN, NaN, NaN]); // overwritten, so garbage must not leak in
    b.gemmNN(2, 2, 3, a, bb, c, false);
    expect(get(c, 4)).toEqual([22, 28, 49, 64]);
    b.gemmTN(2, 2, 3, aT, bb, c, false);
    expect(get(c, 4)).toEqual([22, 28, 49, 64]);
    b.gemmNT(2, 2, 3, a, bT, c, true);
    expect(get(c, 4)).toEqual([44, 56, 98, 128]);
    b.release(mark);
  });

  it('handles shapes that are not multiples of the tile, and deep k', () => {
    const mark = b.mark();
    const [m, n, k] = [5, 11, 300];
    // A[i][p] = (i + 1)·(−1)^p, B[p][j] = j + 1: C[i][j] = (i + 1)(j + 1)·Σ_p (−1)^p = 0 for even k…
    // so use B[p][j] = (j + 1)·(−1)^p instead: every term is (i + 1)(j + 1), C = k·(i + 1)(j + 1).
    const a = put(Array.from({ length: m * k }, (_, t) => (Math.floor(t / k) + 1) * (t % k % 2 ? -1 : 1)));
    const bb = put(Array.from({ length: k * n }, (_, t) => ((t % n) + 1) * (Math.floor(t / n) % 2 ? -1 : 1)));
    const c = b.alloc(m * n);
    b.gemmNN(m, n, k, a, bb, c, false);
    const expected = Array.from({ length: m * n }, (_, t) => k * (Math.floor(t / n) + 1) * ((t % n) + 1));
    expect(get(c, m * n)).toEqual(expected);
    b.release(mark);
  });
});

describe('wasm backend: activations', () => {
  it('computes each activation, tails included', () => {
    const mark = b.mark();
    const xs = [-2, -0.5, 0, 0.5, 2];
    const x = put(xs);
    const y = b.alloc(5);
    const run = (act: number, alpha = 0.1): number[] => {
      b.activation(act as never, x, y, 1, 5, alpha);
      return get(y, 5);
    };
    close(run(ACTIVATION.sigmoid), xs.map((v) => 1 / (1 + Math.exp(-v))));
    close(run(ACTIVATION.tanh), xs.map(Math.tanh));
    expect(run(ACTIVATION.relu)).toEqual([0, 0, 0, 0.5, 2]);
    close(run(ACTIVATION.leakyRelu), [-0.2, -0.05, 0, 0.5, 2]);
    expect(run(ACTIVATION.linear)).toEqual(xs);
    b.release(mark);
  });

  it('keeps sigmoid and tanh finite and accurate at the extremes', () => {
    const mark = b.mark();
    const x = put([-1000, -30, 1e-6, 30, 1000, -1e-6, 0.1, -0.7]);
    const y = b.alloc(8);
    b.activation(ACTIVATION.sigmoid, x, y, 2, 4, 0);
    const s = get(y, 8);
    expect(s[0]).toBeGreaterThanOrEqual(0);
    expect(s[0]).toBeLessThan(1e-37);
    expect(s[1] / 9.357622968839299e-14).toBeCloseTo(1, 5);
    expect(s[3]).toBe(1);
    expect(s[4]).toBe(1);
    b.activation(ACTIVATION.tanh, x, y, 2, 4, 0);
    const t = get(y, 8);
    expect(t.slice(0, 5)).toEqual([-1, -1, 1e-6 as number, 1, 1].map((v) => Math.fround(v)));
    expect(t[5] / -1e-6).toBeCloseTo(1, 6);
    expect(t[6] / Math.tanh(0.1)).toBeCloseTo(1, 6);
    expect(t[7] / Math.tanh(-0.7)).toBeCloseTo(1, 6);
    b.release(mark);
  });

  it('computes a row-wise softmax, also from logits plus bias', () => {
    const mark = b.mark();
    const e = [1, Math.E, Math.E * Math.E];
    const sum = e[0] + e[1] + e[2];
    const x = put([1, 2, 3, 1000, 1000, 1000]);
    const y = b.alloc(6);
    b.activation(ACTIVATION.softmax, x, y, 2, 3, 0);
    close(get(y, 6), [...e.map((v) => v / sum), 1 / 3, 1 / 3, 1 / 3]);
    const zeros = put([0, 1, 2, 999, 999, 999]);
    const bias = put([1, 1, 1]);
    b.biasActivation(ACTIVATION.softmax, zeros, bias, y, 2, 3, 0);
    close(get(y, 6), [...e.map((v) => v / sum), 1 / 3, 1 / 3, 1 / 3]);
    b.release(mark);
  });

  it('fuses bias and activation, for one column and for many', () => {
    const mark = b.mark();
    const x = put([-1, 0, 1, 2, 3, -4, 5, -6, 7, 8]);
    const bias = put([0.5, -0.5, 1, -1, 2]);
    const y = b.alloc(10);
    b.biasActivation(ACTIVATION.relu, x, bias, y, 2, 5, 0);
    expect(get(y, 10)).toEqual([0, 0, 2, 1, 5, 0, 4.5, 0, 6, 10]);
    b.biasActivation(ACTIVATION.sigmoid, x, bias, y, 10, 1, 0); // one column: bias[0] everywhere
    close(get(y, 10), [-1, 0, 1, 2, 3, -4, 5, -6, 7, 8].map((v) => 1 / (1 + Math.exp(-(v + 0.5)))));
    b.biasActivation(ACTIVATION.linear, x, bias, x, 2, 5, 0); // in place
    expect(get(x, 10)).toEqual([-0.5, -0.5, 2, 1, 5, -3.5, 4.5, -5, 6, 10]);
    b.release(mark);
  });

  it('multiplies by the derivative written from the output', () => {
    const mark = b.mark();
    const a = put([0.25, 0.5, 0, -0.5, 2]);
    const dA = put([2, 2, 2, 2, 2]);
    const dZ = b.alloc(5);
    const run = (act: number): number[] => {
      b.activationBackward(act as never, a, dA, dZ, 1, 5, 0.1);
      return get(dZ, 5);
    };
    close(run(ACTIVATION.sigmoid), [0.375, 0.5, 0, -1.5, -4]);
    close(run(ACTIVATION.tanh), [1.875, 1.5, 2, 1.5, -6]);
    expect(run(ACTIVATION.relu)).toEqual([2, 2, 0, 0, 2]);
    close(run(ACTIVATION.leakyRelu), [2, 2, 0.2, 0.2, 2]);
    expect(run(ACTIVATION.linear)).toEqual([2, 2, 2, 2, 2]);
    // softmax row a = [0.5, 0.25, 0.25], dA = [1, 0, 0]: Σ dA·a = 0.5, dz = a ⊙ (dA − 0.5).
    const sa = put([0.5, 0.25, 0.25]);
    const sd = put([1, 0, 0]);
    b.activationBackward(ACTIVATION.softmax, sa, sd, sd, 1, 3, 0);
    close(get(sd, 3), [0.25, -0.125, -0.125]);
    b.release(mark);
  });
});

describe('wasm backend: losses', () => {
  it('binary cross-entropy from logits', () => {
    const mark = b.mark();
    const z = put([0, 1000, -2]);
    const a = put([0.5, 1, 1 / (1 + Math.exp(2))]);
    const y = put([1, 1, 0]);
    // Terms: log 2, 0, log(1 + e^−2).
    const loss = b.lossSigmoidBce(z, a, y, a, 1, 3);
    expect(loss).toBeCloseTo((Math.log(2) + Math.log1p(Math.exp(-2))) / 3, 6);
    close(get(a, 3), [-0.5 / 3, 0, 1 / (1 + Math.exp(2)) / 3]);
    b.release(mark);
  });

  it('categorical cross-entropy from logits', () => {
    const mark = b.mark();
    const z = put([0, 0, 0, 0, 1000, 0]);
    const a = put([1 / 3, 1 / 3, 1 / 3, 0, 1, 0]);
    const y = put([1, 0, 0, 0, 1, 0]);
    const dz = b.alloc(6);
    expect(b.lossSoftmaxCce(z, a, y, dz, 2, 3)).toBeCloseTo(Math.log(3) / 2, 6);
    close(get(dz, 6), [-1 / 3, 1 / 6, 1 / 6, 0, 0, 0]);
    b.release(mark);
  });

  it('mean squared error', () => {
    const mark = b.mark();
    const a = put([1, 2, 3, 4]);
    const y = put([1, 0, 3, 5]);
    expect(b.lossMse(a, y, a, 2, 2)).toBeCloseTo(5 / 4, 6);
    expect(get(a, 4)).toEqual([0, 1, 0, -0.5]);
    b.release(mark);
  });
});

describe('wasm backend: bias and reductions', () => {
  it('adds bias rows and sums columns', () => {
    const mark = b.mark();
    const x = put([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const bias = put([1, 0, -1, 0, 1]);
    b.biasAdd(x, bias, 2, 5);
    expect(get(x, 10)).toEqual([2, 2, 2, 4, 6, 7, 7, 7, 9, 11]);
    const out = put([100, 100, 100, 100, 100]);
    b.colSum(x, 2, 5, out, false);
    expect(get(out, 5)).toEqual([9, 9, 9, 13, 17]);
    b.colSum(x, 2, 5, out, true);
    expect(get(out, 5)).toEqual([18, 18, 18, 26, 34]);
    b.colSum(x, 10, 1, out, false); // one column: the sum of everything
    expect(get(out, 1)).toEqual([57]);
    b.release(mark);
  });

  it('counts correct predictions and checks finiteness', () => {
    const mark = b.mark();
    const a1 = put([0.7, 0.2, 0.5, 0.4]);
    const y1 = put([1, 0, 0, 1]);
    expect(b.countCorrect(a1, y1, 4, 1)).toBe(2);
    const a3 = put([0.1, 0.8, 0.1, 0.4, 0.4, 0.2]); // row 2 ties: the first maximum wins
    const y3 = put([0, 1, 0, 0, 1, 0]);
    expect(b.countCorrect(a3, y3, 2, 3)).toBe(1);
    const x = put([1, 2, 3, 4, 5, 6]);
    expect(b.allFinite(x, 6)).toBe(1);
    b.f32[(x >> 2) + 5] = Infinity;
    expect(b.allFinite(x, 6)).toBe(0);
    expect(b.allFinite(x, 5)).toBe(1);
    b.f32[(x >> 2) + 1] = NaN;
    expect(b.allFinite(x, 4)).toBe(0);
    b.release(mark);
  });
});

describe('wasm backend: optimizers', () => {
  const w0 = [1, -2, 3, -4, 5];
  const g0 = [0.5, 0.5, -1, 2, 0];

  it('sgd with l2', () => {
    const mark = b.mark();
    const w = put(w0);
    const g = put(g0);
    b.sgd(w, g, 5, 0.1, 0.5);
    close(get(w, 5), w0.map((v, i) => v - 0.1 * (g0[i] + 0.5 * v)));
    b.release(mark);
  });

  it('momentum with bias correction', () => {
    const mark = b.mark();
    const w = put(w0);
    const g = put(g0);
    const m = b.alloc(5);
    // Step 1 from m = 0: m = (1−β)g, m̂ = g, so w ← w − lr·g exactly as plain SGD.
    b.momentum(w, g, m, 5, 0.1, 0.9, 1, 0);
    close(get(m, 5), g0.map((v) => 0.1 * v));
    close(get(w, 5), w0.map((v, i) => v - 0.1 * g0[i]));
    b.release(mark);
  });

  it('adam', () => {
    const mark = b.mark();
    const w = put(w0);
    const g = put(g0);
    const m = b.alloc(5);
    const v = b.alloc(5);
    // Step 1 from zeros: m̂ = g, v̂ = g², so w ← w − lr·g/(|g| + ε).
    b.adam(w, g, m, v, 5, 0.01, 0.9, 0.999, 1e-7, 1, 0);
    close(get(w, 5), w0.map((x, i) => x - (0.01 * g0[i]) / (Math.abs(g0[i]) + 1e-7)));
    close(get(m, 5), g0.map((x) => 0.1 * x));
    close(get(v, 5), g0.map((x) => 0.001 * x * x));
    b.release(mark);
  });
});

describe('wasm backend: module cache', () => {
  it('creates independent backends from one compiled module', async () => {
    const other = await createWasmBackend();
    const p = other.alloc(4);
    other.f32.set([1, 2, 3, 4], p >> 2);
    const q = b.alloc(4);
    expect(get(q, 4)).toEqual([0, 0, 0, 0]);
    expect(other.f32[(p >> 2) + 3]).toBe(4);
  });
});
