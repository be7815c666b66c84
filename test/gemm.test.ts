/**
 * GEMM on every backend against the float64 reference.
 *
 * Tolerance: for any summation order, the float32 result of a k-term dot product (plus C when
 * accumulating) satisfies |ĉ − c| ≤ γ·Σ|a_p·b_p| with γ = (k+1)·u/(1 − (k+1)·u), u = 2^-24
 * (Higham, Accuracy and Stability of Numerical Algorithms, §3.1). We allow (k+2)·u·Σ|a·b|, which
 * is still ~100× smaller than the effect of one dropped or duplicated term at these sizes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Ptr } from '../src/backend/index.js';
import { BACKEND_NAMES, BOTH_BACKENDS, guarded, makeBackend, read, scoped, upload } from './backends.js';
import { expectClose, U32 } from './assert.js';
import { mulberry32, uniform } from './prng.js';
import * as ref from './reference.js';

type Variant = 'NN' | 'TN' | 'NT';
const VARIANTS: Variant[] = ['NN', 'TN', 'NT'];

// [m, n, k]: 1, 3, 4, 5, 17 and larger non-multiples of 4, then products across cache-blocking
// boundaries of a packed GEMM (the wasm one cuts m at 128, n at 256, k at 256, in 4×8 tiles):
// one block plus a sliver in every dimension, k exactly one slab, and k in three slabs.
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 3, 5], [3, 1, 4], [4, 4, 4], [5, 5, 5], [3, 17, 1], [17, 4, 3], [4, 5, 17],
  [17, 33, 5], [33, 67, 17], [67, 33, 130], [130, 17, 67], [5, 130, 33],
  [257, 129, 300], [129, 257, 513], [9, 263, 256],
];

function runGemm(
  b: Backend, v: Variant, m: number, n: number, k: number, a: Ptr, bp: Ptr, c: Ptr, acc: boolean,
): void {
  if (v === 'NN') b.gemmNN(m, n, k, a, bp, c, acc);
  else if (v === 'TN') b.gemmTN(m, n, k, a, bp, c, acc);
  else b.gemmNT(m, n, k, a, bp, c, acc);
}

interface GemmCase {
  a: Float32Array; // stored as the variant expects: [m×k], or [k×m] for TN
  b: Float32Array; // [k×n], or [n×k] for NT
  c0: Float32Array; // initial C
}

function makeCase(seed: number, m: number, n: number, k: number): GemmCase {
  const rng = mulberry32(seed);
  return { a: uniform(rng, m * k), b: uniform(rng, k * n), c0: uniform(rng, m * n, -2, 2) };
}

/** Runs one GEMM on a guarded C; without `accumulate`, C starts as NaN to prove it is overwritten. */
function gemmOn(b: Backend, v: Variant, m: number, n: number, k: number, cs: GemmCase, acc: boolean): Float32Array {
  return scoped(b, () => {
    const a = upload(b, cs.a);
    const bp = upload(b, cs.b);
    const c = guarded(b, m * n, acc ? cs.c0 : new Float32Array(m * n).fill(NaN));
    runGemm(b, v, m, n, k, a, bp, c.ptr, acc);
    c.check();
    return read(b, c.ptr, m * n);
  });
}

function reference(v: Variant, m: number, n: number, k: number, cs: GemmCase, acc: boolean): ref.GemmRef {
  return ref.gemm(v === 'TN', v === 'NT', m, n, k, cs.a, cs.b, acc ? cs.c0 : undefined);
}

function bound(absSum: Float64Array, k: number): Float64Array {
  return absSum.map((s) => (k + 2) * U32 * s);
}

describe.each(BACKEND_NAMES)('gemm on %s', (name) => {
  let b: Backend;
  beforeAll(async () => { b = await makeBackend(name); });

  describe.each(VARIANTS)('gemm%s', (v) => {
    it.each(SHAPES)('m=%i n=%i k=%i matches the float64 reference', (m, n, k) => {
      const cs = makeCase(1000 * m + 10 * n + k, m, n, k);
      for (const acc of [false, true]) {
        const got = gemmOn(b, v, m, n, k, cs, acc);
        const want = reference(v, m, n, k, cs, acc);
        expectClose(got, want.c, bound(want.absSum, k), `gemm${v} ${m}×${n}×${k} accumulate=${acc}`);
      }
    });

    it('is exact on small integers (every partial sum is representable)', () => {
      const [m, n, k] = [33, 67, 130];
      const rng = mulberry32(7);
      const int = (len: number): Float32Array => Float32Array.from({ length: len }, () => Math.floor(rng() * 7) - 3);
      const cs: GemmCase = { a: int(m * k), b: int(k * n), c0: int(m * n) };
      for (const acc of [false, true]) {
        expect(Array.from(gemmOn(b, v, m, n, k, cs, acc))).toEqual(Array.from(reference(v, m, n, k, cs, acc).c));
      }
    });

    it('accumulates over repeated calls (C += op(A)·op(B) twice)', () => {
      const [m, n, k] = [17, 5, 33];
      const cs = makeCase(99, m, n, k);
      const got = scoped(b, () => {
        const a = upload(b, cs.a);
        const bp = upload(b, cs.b);
        const c = upload(b, cs.c0);
        runGemm(b, v, m, n, k, a, bp, c, true);
        runGemm(b, v, m, n, k, a, bp, c, true);
        return read(b, c, m * n);
      });
      const once = reference(v, m, n, k, cs, false);
      const want = once.c.map((p, i) => cs.c0[i] + 2 * p);
      const tol = once.absSum.map((s, i) => 2 * (k + 2) * U32 * (2 * s + Math.abs(cs.c0[i])));
      expectClose(got, want, tol, `gemm${v} accumulated twice`);
    });
  });
});

describe.runIf(BOTH_BACKENDS)('gemm: wasm agrees with js', () => {
  let js: Backend;
  let wasm: Backend;
  beforeAll(async () => { js = await makeBackend('js'); wasm = await makeBackend('wasm'); });

  it.each(VARIANTS)('gemm%s on every shape, accumulate on and off', (v) => {
    for (const [m, n, k] of SHAPES) {
      const cs = makeCase(31 * m + 7 * n + k, m, n, k);
      for (const acc of [false, true]) {
        const want = reference(v, m, n, k, cs, acc);
        // Each is within the bound of the exact value, so they are within twice it of each other.
        const tol = bound(want.absSum, k).map((t) => 2 * t);
        expectClose(gemmOn(wasm, v, m, n, k, cs, acc), gemmOn(js, v, m, n, k, cs, acc), tol,
          `gemm${v} ${m}×${n}×${k} accumulate=${acc}: wasm vs js`);
      }
    }
  });
});
