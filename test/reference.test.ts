/**
 * Checks on the float64 reference itself, so that kernel tests compare against something right:
 * small products worked by hand, known values, and derivatives against central differences.
 */
import { describe, expect, it } from 'vitest';
import { expectClose } from './assert.js';
import { mulberry32 } from './prng.js';
import * as ref from './reference.js';

const rng = mulberry32(123);
const rand = (n: number, lo = -1, hi = 1): number[] => Array.from({ length: n }, () => lo + (hi - lo) * rng());

describe('float64 reference', () => {
  it('gemm variants on a 2×3·3×2 product worked by hand', () => {
    const a = [1, 2, 3, 4, 5, 6]; // [[1,2,3],[4,5,6]]
    const b = [7, 8, 9, 10, 11, 12]; // [[7,8],[9,10],[11,12]]
    const want = [58, 64, 139, 154];
    expect(Array.from(ref.gemm(false, false, 2, 2, 3, a, b).c)).toEqual(want);
    // Aᵀ stored [k×m] = [[1,4],[2,5],[3,6]]; Bᵀ stored [n×k] = [[7,9,11],[8,10,12]].
    expect(Array.from(ref.gemm(true, false, 2, 2, 3, [1, 4, 2, 5, 3, 6], b).c)).toEqual(want);
    expect(Array.from(ref.gemm(false, true, 2, 2, 3, a, [7, 9, 11, 8, 10, 12]).c)).toEqual(want);
    expect(Array.from(ref.gemm(false, false, 2, 2, 3, a, b, [1, -1, 0, 2]).c)).toEqual([59, 63, 139, 156]);
    expect(Array.from(ref.gemm(false, false, 1, 1, 2, [1, -2], [3, 4]).absSum)).toEqual([11]);
  });

  it('bias add and column sums by hand', () => {
    expect(Array.from(ref.biasAdd([1, 2, 3, 4], [10, 20], 2, 2))).toEqual([11, 22, 13, 24]);
    expect(Array.from(ref.colSum([1, 2, 3, 4, 5, 6], 3, 2))).toEqual([9, 12]);
    expect(Array.from(ref.colSum([1, 2, 3, 4, 5, 6], 3, 2, [1, 1]))).toEqual([10, 13]);
  });

  it('activations at known points', () => {
    const z = [-1, 0, 2];
    expectClose(ref.activation('sigmoid', z, 1, 3), [0.2689414213699951, 0.5, 0.8807970779778823], { rtol: 1e-15 }, 'σ');
    expectClose(ref.activation('tanh', z, 1, 3), [-0.7615941559557649, 0, 0.9640275800758169], { rtol: 1e-14 }, 'tanh');
    expect(Array.from(ref.activation('relu', z, 1, 3))).toEqual([0, 0, 2]);
    expect(Array.from(ref.activation('leakyRelu', z, 1, 3, 0.1))).toEqual([-0.1, 0, 2]);
    expect(Array.from(ref.activation('linear', z, 1, 3))).toEqual(z);
    const e = Math.E;
    expectClose(ref.activation('softmax', [0, 1, 0, 0], 2, 2), [1 / (1 + e), e / (1 + e), 0.5, 0.5], { rtol: 1e-15 }, 'softmax');
  });

  it.each(['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu', 'softmax'] as const)(
    '%s: backward from a equals backward from z, and both equal a central difference', (act) => {
      const [m, n] = [3, 5];
      const z = rand(m * n, -3, 3).map((v) => (Math.abs(v) < 0.01 ? 0.5 : v)); // keep off relu's kink
      const dA = rand(m * n);
      const a = ref.activation(act, z, m, n, 0.1);
      const fromZ = ref.activationBackwardFromZ(act, z, dA, m, n, 0.1);
      expectClose(ref.activationBackwardFromA(act, a, dA, m, n, 0.1), fromZ, { rtol: 1e-12, atol: 1e-15 }, 'from a vs z');
      // d/dz_q of Σ dA·g(z), by central differences.
      const h = 1e-6;
      const fd = z.map((_, q) => {
        const plus = z.slice(); plus[q] += h;
        const minus = z.slice(); minus[q] -= h;
        const gp = ref.activation(act, plus, m, n, 0.1);
        const gm = ref.activation(act, minus, m, n, 0.1);
        return dA.reduce((s, d, i) => s + d * (gp[i] - gm[i]), 0) / (2 * h);
      });
      expectClose(fromZ, fd, { rtol: 1e-6, atol: 1e-8 }, 'backward vs central difference');
    });

  it('losses at known points', () => {
    // BCE at z = 0 is ln 2 for either label; MSE of [1,2] vs [0,0] is 2.5.
    expect(ref.bce([0, 0], [0, 1], 1, 2).loss).toBeCloseTo(Math.LN2, 15);
    expect(ref.bce([100], [0], 1, 1).loss).toBeCloseTo(100, 12);
    expect(ref.bce([-100], [0], 1, 1).loss).toBeCloseTo(Math.exp(-100), 55);
    expect(ref.mse([1, 2], [0, 0], 1, 2).loss).toBe(2.5);
    expect(Array.from(ref.mse([1, 2], [0, 0], 1, 2).grad)).toEqual([1, 2]);
    // CCE of uniform logits over n classes is ln n.
    expect(ref.cce([5, 5, 5, 5], [0, 0, 1, 0], 1, 4).loss).toBeCloseTo(Math.log(4), 15);
    expect(ref.cce([1000, 0, -1000], [0, 1, 0], 1, 3).loss).toBeCloseTo(1000, 10);
    // Written as −y log a − (1−y) log(1−a) directly at a moderate z.
    const s = 1 / (1 + Math.exp(-1.5));
    expect(ref.bce([1.5], [0.3], 1, 1).loss).toBeCloseTo(-0.3 * Math.log(s) - 0.7 * Math.log(1 - s), 14);
  });

  it.each(['bce', 'cce', 'mse'] as const)('%s gradient equals a central difference of the loss', (loss) => {
    const [m, n] = [3, 4];
    const z = rand(m * n, -3, 3);
    const y = loss === 'mse' ? rand(m * n) : loss === 'bce' ? rand(m * n, 0, 1) : [0, 1, 0, 0, 1, 0, 0, 0, 0.25, 0.25, 0.5, 0];
    const f = (x: number[]) => (loss === 'bce' ? ref.bce(x, y, m, n) : loss === 'cce' ? ref.cce(x, y, m, n) : ref.mse(x, y, m, n));
    const h = 1e-6;
    const fd = z.map((_, q) => {
      const plus = z.slice(); plus[q] += h;
      const minus = z.slice(); minus[q] -= h;
      return (f(plus).loss - f(minus).loss) / (2 * h);
    });
    expectClose(f(z).grad, fd, { rtol: 1e-6, atol: 1e-9 }, `${loss} gradient`);
  });

  it('countCorrect by hand', () => {
    expect(ref.countCorrect([0.2, 0.7, 0.5], [0, 0, 1], 3, 1)).toBe(2);
    expect(ref.countCorrect([0.1, 0.9, 0.5, 0.5], [0, 1, 0, 1], 2, 2)).toBe(1);
  });

  it('optimizers: one step by hand', () => {
    expectClose(ref.sgdSteps([1], [[0.5]], 0.1)[0], [0.95], { rtol: 1e-15 }, 'sgd');
    expectClose(ref.momentumSteps([1], [[0.5], [-0.25]], 0.1, 0.9)[1], [0.95 - 0.1 * (0.02 / 0.19)], { rtol: 1e-14 }, 'momentum');
    expectClose(ref.adamSteps([1], [[0.5]], 0.1, 0.9, 0.999, 1e-8)[0], [1 - 0.05 / (0.5 + 1e-8)], { rtol: 1e-14 }, 'adam');
  });
});
