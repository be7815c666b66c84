/**
 * Losses (value and gradient) and countCorrect on every backend against the float64 reference.
 *
 * Tolerances: every per-element loss term is ≥ 0, so summing N of them in float32 would cost at
 * most (N+1)·u relative; each term costs ~1e-6 relative through exp/log, plus an absolute
 * ~4u·max|z| where the log-sum-exp (or max(z,0) − z·y) cancels against z. Gradients are one
 * subtraction and one scaling of float32 values: 1e-5 relative plus 2u/N absolute (the rounding
 * of a = g(z) itself, which the kernel receives already rounded).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/index.js';
import { BACKEND_NAMES, BOTH_BACKENDS, guarded, makeBackend, read, scoped, upload } from './backends.js';
import { expectClose, expectNear, U32 } from './assert.js';
import { mulberry32, oneHot, uniform } from './prng.js';
import * as ref from './reference.js';

type LossName = 'bce' | 'cce' | 'mse' | 'mae' | 'huber';

interface LossResult { loss: number; grad: Float32Array }

/** Calls the kernel on (z, a, y); dz aliases a when `inPlace`. */
function lossOn(
  b: Backend, loss: LossName, z: Float32Array, a: Float32Array, y: Float32Array, m: number, n: number, inPlace: boolean,
): LossResult {
  return scoped(b, () => {
    const zp = upload(b, z);
    const ap = upload(b, a);
    const yp = upload(b, y);
    const out = inPlace ? { ptr: ap, check() {} } : guarded(b, m * n);
    let value: number;
    if (loss === 'bce') value = b.lossSigmoidBce(zp, ap, yp, out.ptr, m, n);
    else if (loss === 'cce') value = b.lossSoftmaxCce(zp, ap, yp, out.ptr, m, n);
    else if (loss === 'mse') value = b.lossMse(ap, yp, out.ptr, m, n);
    else if (loss === 'mae') value = b.lossMae(ap, yp, out.ptr, m, n);
    else value = b.lossHuber(ap, yp, out.ptr, m, n, 1);
    out.check();
    // Inputs other than the aliased output are left alone.
    expect(Array.from(read(b, zp, m * n))).toEqual(Array.from(z));
    expect(Array.from(read(b, yp, m * n))).toEqual(Array.from(y));
    return { loss: value, grad: read(b, out.ptr, m * n) };
  });
}

/** The inputs a loss kernel sees: logits, the forward pass's float32 output, targets. */
function inputs(loss: LossName, seed: number, m: number, n: number, soft: boolean, zRange = 8) {
  const rng = mulberry32(seed);
  const z = uniform(rng, m * n, -zRange, zRange);
  let y: Float32Array;
  if (loss === 'mse' || loss === 'mae' || loss === 'huber') y = uniform(rng, m * n, -zRange, zRange);
  else if (!soft) y = oneHot(rng, m, n);
  else if (loss === 'bce') y = uniform(rng, m * n, 0, 1);
  else y = Float32Array.from(ref.activation('softmax', uniform(rng, m * n, -2, 2), m, n)); // rows sum to 1
  const a = loss === 'bce' ? Float32Array.from(ref.activation('sigmoid', z, m, n))
    : loss === 'cce' ? Float32Array.from(ref.activation('softmax', z, m, n))
    : z;
  return { z, a, y };
}

function reference(loss: LossName, z: Float32Array, a: Float32Array, y: Float32Array, m: number, n: number): ref.LossRef {
  if (loss === 'bce') return ref.bce(z, y, m, n);
  if (loss === 'cce') return ref.cce(z, y, m, n);
  if (loss === 'mae') return ref.mae(a, y, m, n);
  if (loss === 'huber') return ref.huber(a, y, m, n, 1);
  return ref.mse(a, y, m, n);
}

function checkLoss(got: LossResult, want: ref.LossRef, loss: LossName, z: Float32Array, m: number, n: number, what: string) {
  const terms = loss === 'cce' ? m : m * n;
  const zmax = z.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
  const scale = loss === 'mse' ? zmax * zmax : zmax; // mae and huber grow like |z| too
  expectNear(got.loss, want.loss, 1e-5 + (terms + 2) * U32, 4 * U32 * scale, `${what}: loss`);
  expectClose(got.grad, want.grad, { rtol: 1e-5, atol: (2 * U32 * Math.max(1, loss === 'mse' ? zmax : 1)) / terms },
    `${what}: gradient`);
}

const SHAPES: Record<LossName, [number, number][]> = {
  bce: [[1, 1], [3, 1], [4, 1], [5, 3], [17, 1], [33, 4], [67, 5], [130, 1], [130, 17]],
  cce: [[1, 1], [1, 3], [3, 4], [4, 5], [5, 17], [17, 3], [33, 10], [67, 130]],
  mse: [[1, 1], [3, 1], [4, 4], [5, 3], [17, 5], [33, 67], [130, 1]],
  mae: [[1, 1], [3, 1], [4, 4], [17, 5], [33, 67]],
  huber: [[1, 1], [3, 1], [4, 4], [17, 5], [33, 67]],
};
const LOSSES: LossName[] = ['bce', 'cce', 'mse', 'mae', 'huber'];
const CASES = LOSSES.flatMap((loss) => SHAPES[loss].map(([m, n]) => [loss, m, n] as const));

describe.each(BACKEND_NAMES)('losses on %s', (name) => {
  let b: Backend;
  beforeAll(async () => { b = await makeBackend(name); });

  it.each(CASES)('%s %i×%i: value and gradient, separate output and in place', (loss, m, n) => {
    for (const soft of [false, true]) {
      const { z, a, y } = inputs(loss, m * 100 + n + (soft ? 1 : 0), m, n, soft);
      const want = reference(loss, z, a, y, m, n);
      const what = `${loss} ${m}×${n}${soft ? ' soft labels' : ''}`;
      checkLoss(lossOn(b, loss, z, a, y, m, n, false), want, loss, z, m, n, what);
      checkLoss(lossOn(b, loss, z, a, y, m, n, true), want, loss, z, m, n, `${what} dz==a`);
    }
  });

  it('binary cross-entropy is finite and correct at |z| = 100 and beyond', () => {
    // Per element: max(z,0) − z·y + log(1 + e^−|z|).
    const z = Float32Array.from([100, 100, -100, -100, 1e4, -1e4, 0]);
    const y = Float32Array.from([1, 0, 1, 0, 0, 0, 1]);
    const terms = [Math.exp(-100), 100, 100, Math.exp(-100), 1e4, 0, Math.LN2];
    const a = Float32Array.from(ref.activation('sigmoid', z, 1, z.length));
    // One element at a time, so the tiny terms are checked on their own.
    z.forEach((zi, i) => {
      const got = lossOn(b, 'bce', z.subarray(i, i + 1), a.subarray(i, i + 1), y.subarray(i, i + 1), 1, 1, false);
      expect(Number.isFinite(got.loss)).toBe(true);
      expectNear(got.loss, terms[i], 1e-6, 1e-30, `bce at z=${zi}, y=${y[i]}`);
      expectNear(got.grad[0], a[i] - y[i], 1e-6, 0, `bce gradient at z=${zi}, y=${y[i]}`);
    });
    const all = lossOn(b, 'bce', z, a, y, 1, z.length, false);
    expectNear(all.loss, terms.reduce((s, t) => s + t, 0) / z.length, 1e-6, 0, 'bce mean at large |z|');
    expect(Array.from(all.grad).every(Number.isFinite)).toBe(true);
  });

  it('categorical cross-entropy is finite and correct for large logits', () => {
    const z = Float32Array.from([1000, 0, -1000, 1000, 0, -1000, 88, 88, 88, -3e38, 3e38, 0]);
    const y = Float32Array.from([0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0]);
    // Row losses: lse − z_label = 1000 − 0; ≈ e^−1000; ln 3; ≈ 0.
    const rows = [1000, 0, Math.log(3), 0];
    // lse − z cancels: a float32 log-sum-exp is good to ~4u·max|z| absolute (exact 0 in rows 1, 3).
    const atol = [4 * U32 * 1000, 1e-30, 4 * U32 * 88, 1e-30];
    const a = Float32Array.from(ref.activation('softmax', z, 4, 3));
    for (let r = 0; r < 4; r++) {
      const s = r * 3;
      const got = lossOn(b, 'cce', z.subarray(s, s + 3), a.subarray(s, s + 3), y.subarray(s, s + 3), 1, 3, false);
      expect(Number.isFinite(got.loss)).toBe(true);
      expectNear(got.loss, rows[r], 1e-6, atol[r], `cce row ${r}`);
      expect(Array.from(got.grad).every(Number.isFinite)).toBe(true);
    }
    const all = lossOn(b, 'cce', z, a, y, 4, 3, true);
    expectNear(all.loss, rows.reduce((s, t) => s + t, 0) / 4, 1e-6, atol.reduce((s, t) => s + t, 0) / 4, 'cce mean with large logits');
    expectClose(all.grad, Array.from(a, (v, i) => (v - y[i]) / 4), { rtol: 1e-6, atol: 0 }, 'cce gradient');
  });
});

describe.each(BACKEND_NAMES)('countCorrect on %s', (name) => {
  let b: Backend;
  beforeAll(async () => { b = await makeBackend(name); });

  const count = (a: ArrayLike<number>, y: ArrayLike<number>, m: number, n: number): number =>
    scoped(b, () => b.countCorrect(upload(b, a), upload(b, y), m, n));

  it.each([[1, 1], [3, 1], [4, 1], [67, 1], [130, 1], [1, 3], [4, 5], [17, 4], [33, 10], [130, 17]])(
    'random %i×%i against the reference', (m, n) => {
      const rng = mulberry32(m * 13 + n);
      const a = n === 1 ? uniform(rng, m, 0, 1) : Float32Array.from(ref.activation('softmax', uniform(rng, m * n, -3, 3), m, n));
      const y = oneHot(rng, m, n);
      expect(count(a, y, m, n)).toBe(ref.countCorrect(a, y, m, n));
    });

  it('n = 1 thresholds both a and y at 0.5 inclusive', () => {
    const a = [0.5, 0.4999, 0.9, 0.1, 0.5, 0.7];
    const y = [1, 0, 0, 0, 0.5, 0.2];
    // 0.5≥.5 & 1≥.5 ✓; <.5 & <.5 ✓; ≥.5 vs <.5 ✗; ✓; ≥.5 & 0.5≥.5 ✓; ≥.5 vs <.5 ✗
    expect(count(a, y, 6, 1)).toBe(4);
  });

  it('n > 1 compares argmaxes, first maximum wins on ties', () => {
    const a = [
      0.4, 0.4, 0.2, // tie: argmax 0
      0.4, 0.4, 0.2, // tie: argmax 0
      0.1, 0.3, 0.3, // tie: argmax 1
      0.2, 0.3, 0.5, // argmax 2
      0.2, 0.3, 0.5, // argmax 2
    ];
    const y = [
      1, 0, 0, // 0 ✓
      0, 1, 0, // 1 ✗
      0, 1, 0, // 1 ✓
      0, 0, 1, // 2 ✓
      0.5, 0.5, 0, // soft label, first max 0 ✗
    ];
    expect(count(a, y, 5, 3)).toBe(3);
    expect(ref.countCorrect(a, y, 5, 3)).toBe(3);
  });
});

describe.runIf(BOTH_BACKENDS)('losses: wasm agrees with js', () => {
  let js: Backend;
  let wasm: Backend;
  beforeAll(async () => { js = await makeBackend('js'); wasm = await makeBackend('wasm'); });

  it.each(CASES)('%s %i×%i', (loss, m, n) => {
    const { z, a, y } = inputs(loss, 4242 + m * n, m, n, true);
    const w = lossOn(wasm, loss, z, a, y, m, n, false);
    const j = lossOn(js, loss, z, a, y, m, n, false);
    const terms = loss === 'cce' ? m : m * n;
    expectNear(w.loss, j.loss, 2e-5 + 2 * (terms + 2) * U32, 64 * U32, `${loss}: wasm vs js loss`);
    expectClose(w.grad, j.grad, { rtol: 2e-5, atol: (4 * U32 * 8) / terms }, `${loss}: wasm vs js gradient`);
  });

  it('countCorrect', () => {
    const [m, n] = [130, 17];
    const rng = mulberry32(3);
    const a = uniform(rng, m * n, 0, 1);
    const y = oneHot(rng, m, n);
    const c = (b: Backend) => scoped(b, () => b.countCorrect(upload(b, a), upload(b, y), m, n));
    expect(c(wasm)).toBe(c(js));
  });
});
