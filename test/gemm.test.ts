/**
 * GEMM on every backend against the float64 reference.
 *
 * Tolerance: for any summation order, the float32 result of a k-term dot product (plus C when
 * accumulating) satisfies |ĉ − c| ≤ γ·Σ|a_p·b_p| with γ = (k+1)·u/(1 − (k+1)·u), u = 2^-24
 * (Higham, Accuracy and Stability of Numerical Algorithms, §3.1). We allow (k+2)·u·Σ|a·b|, which
 * is still ~100× smaller than the effect of one dropped or duplicated term at these sizes.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATION, type Backend, type Ptr } from '../src/backend/index.js';
import { BACKEND_NAMES, BOTH_BACKENDS, guarded, makeBackend, read, scoped, upload } from './backends.js';
import { expectClose, U32 } from './assert.js';
import { mulberry32, uniform } from './prng.js';
import * as ref from './reference.js';
import { GEMM_TILES } from './support/gemm-tiles.js';

type Variant = 'NN' | 'TN' | 'NT';
const VARIANTS: Variant[] = ['NN', 'TN', 'NT'];

type Shape = [number, number, number];
const { MR, NR, KC, MC, NC, DIRECT_B_ROWS } = GEMM_TILES;

/** t − 1, t, t + 1. */
function around(t: number): number[] {
  return [t - 1, t, t + 1];
}
/** [ms[i], ns[i], ks[i]] for each i: every value of each list once, without the cross product. */
function zip(ms: number[], ns: number[], ks: number[]): Shape[] {
  return ms.map((m, i) => [m, ns[i], ks[i]]);
}

// [m, n, k] on the wasm GEMM's blocking boundaries, derived from its constants
// (test/support/gemm-tiles.ts): one tile − 1, exactly one, and one + 1 of MR and MC in m, NR and NC
// in n, KC in k, each m or n tile against the three k values; the large blocks apart, to keep the
// float64 reference cheap (SHAPES below crosses all three blocks at once).
const TILE_SHAPES: Shape[] = [
  ...zip(around(MR), around(NR).reverse(), around(KC)),
  ...zip(around(MC), around(NR), around(KC).reverse()),
  ...zip(around(MR), around(NC), around(KC).reverse()),
  // Every block exactly full: no edge tile anywhere.
  [MC, NC, KC],
  // B read in place (up to DIRECT_B_ROWS rows of C) and packed (one row more), with n one panel
  // plus a column and one block plus a column, k across two slabs and in one.
  ...[DIRECT_B_ROWS, DIRECT_B_ROWS + 1].flatMap((m): Shape[] => [[m, NR + 1, KC + 1], [m, NC + 1, KC - 1]]),
];

// [m, n, k]: 1, 3, 4, 5, 17 and larger non-multiples of 4, then products across cache-blocking
// boundaries of a packed GEMM (the wasm one cuts m at 128, n at 256, k into slabs of at most 256,
// in 2×16 tiles):
// one block plus a sliver in every dimension, k exactly one slab, and k in three slabs.
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 3, 5], [3, 1, 4], [4, 4, 4], [5, 5, 5], [3, 17, 1], [17, 4, 3], [4, 5, 17],
  [17, 33, 5], [33, 67, 17], [67, 33, 130], [130, 17, 67], [5, 130, 33],
  [257, 129, 300], [129, 257, 513], [9, 263, 256],
  // Few rows (the wasm GEMM reads B in place up to 14 rows of C) across k-slabs and a column edge,
  // and just past that bound.
  [13, 41, 300], [20, 41, 300],
  // One column (a matrix-vector product in the wasm GEMM), with tails in m and k.
  [67, 1, 130], [19, 1, 301], [2, 1, 9],
  ...TILE_SHAPES,
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

// --- The fused backward step: out = (dz·wᵀ) ⊙ g'(aPrev) ---------------------------------------

const BACKWARD_ACTS: ref.RefActivation[] = ['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu', 'softmax'];
// Edges of the MR×NR (2×16) tile in m and n, k in one slab and in several (the derivative must be applied
// once, to the finished sum), and m, n across the wasm GEMM's 128-row and 256-column blocks.
const BACKWARD_SHAPES: [number, number, number][] = [
  [1, 1, 1], [3, 5, 7], [4, 8, 4], [5, 17, 3], [17, 33, 130], [64, 128, 64], [33, 9, 300], [130, 263, 17],
  // The blocking boundaries of TILE_SHAPES: the epilogue on edge tiles and after the last k-slab.
  ...zip(around(MR), around(NR), around(KC)),
  ...zip(around(MC), around(NR).reverse(), around(KC)),
  ...zip(around(MR).reverse(), around(NC), around(KC).reverse()),
];
const SLOPE = 0.1;

interface BackwardCase {
  dz: Float32Array; // [m×k]
  w: Float32Array; // stored [n×k]
  aPrev: Float32Array; // [m×n], values g can produce (exact zeros for relu, rows summing to 1 for softmax)
}

function makeBackwardCase(seed: number, act: ref.RefActivation, m: number, n: number, k: number): BackwardCase {
  const rng = mulberry32(seed);
  const dz = uniform(rng, m * k);
  const w = uniform(rng, n * k);
  const aPrev = Float32Array.from(ref.activation(act, uniform(rng, m * n, -3, 3), m, n, SLOPE));
  return { dz, w, aPrev };
}

function backwardOn(b: Backend, act: ref.RefActivation, m: number, n: number, k: number, cs: BackwardCase): Float32Array {
  return scoped(b, () => {
    const dz = upload(b, cs.dz);
    const w = upload(b, cs.w);
    const aPrev = upload(b, cs.aPrev);
    const out = guarded(b, m * n, new Float32Array(m * n).fill(NaN));
    b.gemmNTBackward(ACTIVATION[act], m, n, k, dz, w, aPrev, out.ptr, SLOPE);
    out.check();
    return read(b, out.ptr, m * n);
  });
}

/**
 * The float64 result and an error bound for it. dA = dz·wᵀ carries the GEMM bound e = (k+2)·u·Σ|a·b|;
 * the elementwise g' multiplies it by |g'| and adds a few roundings of its own (sigmoid a(1−a) and
 * the products: 4u relative; tanh's 1 − a² loses up to u·a² absolutely to cancellation). Softmax
 * mixes the row: dz_j = a_j (dA_j − Σ a_l dA_l) gets a_j (e_j + Σ a_l e_l), n roundings in the dot
 * and three more around it.
 */
function backwardReference(
  act: ref.RefActivation, m: number, n: number, k: number, cs: BackwardCase,
): { want: Float64Array; tol: Float64Array } {
  const dA = ref.gemm(false, true, m, n, k, cs.dz, cs.w);
  const want = ref.activationBackwardFromA(act, cs.aPrev, dA.c, m, n, SLOPE);
  const e = bound(dA.absSum, k);
  const tol = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    let mixed = 0;
    let dotAbs = 0;
    if (act === 'softmax') {
      for (let l = 0; l < n; l++) {
        mixed += cs.aPrev[i * n + l] * e[i * n + l];
        dotAbs += Math.abs(cs.aPrev[i * n + l] * dA.c[i * n + l]);
      }
    }
    for (let j = 0; j < n; j++) {
      const q = i * n + j;
      const a = cs.aPrev[q];
      const d = Math.abs(dA.c[q]);
      const rounding = 4 * U32 * Math.abs(want[q]);
      switch (act) {
        case 'linear': case 'relu': case 'leakyRelu':
          tol[q] = (act === 'linear' || a > 0 ? 1 : act === 'relu' ? 0 : SLOPE) * e[q] + rounding;
          break;
        case 'sigmoid':
          tol[q] = a * (1 - a) * e[q] + rounding;
          break;
        case 'tanh':
          tol[q] = (1 - a * a) * e[q] + 2 * U32 * a * a * d + rounding;
          break;
        case 'softmax':
          tol[q] = a * (e[q] + mixed) + (n + 4) * U32 * a * (d + dotAbs) + rounding;
          break;
      }
    }
  }
  return { want, tol };
}

describe.each(BACKEND_NAMES)('gemmNTBackward on %s', (name) => {
  let b: Backend;
  beforeAll(async () => { b = await makeBackend(name); });

  describe.each(BACKWARD_ACTS)('%s', (act) => {
    it.each(BACKWARD_SHAPES)('m=%i n=%i k=%i matches the float64 reference', (m, n, k) => {
      const cs = makeBackwardCase(7 * m + 3 * n + k, act, m, n, k);
      const { want, tol } = backwardReference(act, m, n, k, cs);
      expectClose(backwardOn(b, act, m, n, k, cs), want, tol, `gemmNTBackward ${act} ${m}×${n}×${k}`);
    });

    // network.ts uses the fused kernel where it used gemmNT then activationBackward: training must
    // not change by a bit for it.
    it('gives the same bits as gemmNT then activationBackward', () => {
      const [m, n, k] = [33, 9, 300];
      const cs = makeBackwardCase(5, act, m, n, k);
      const twoStep = scoped(b, () => {
        const dz = upload(b, cs.dz);
        const w = upload(b, cs.w);
        const aPrev = upload(b, cs.aPrev);
        const out = b.alloc(m * n);
        b.gemmNT(m, n, k, dz, w, out, false);
        b.activationBackward(ACTIVATION[act], aPrev, out, out, m, n, SLOPE);
        return read(b, out, m * n);
      });
      expect(Array.from(backwardOn(b, act, m, n, k, cs))).toEqual(Array.from(twoStep));
    });
  });
});

describe.runIf(BOTH_BACKENDS)('gemmNTBackward: wasm agrees with js', () => {
  let js: Backend;
  let wasm: Backend;
  beforeAll(async () => { js = await makeBackend('js'); wasm = await makeBackend('wasm'); });

  it.each(BACKWARD_ACTS)('%s on every shape', (act) => {
    for (const [m, n, k] of BACKWARD_SHAPES) {
      const cs = makeBackwardCase(11 * m + n + 5 * k, act, m, n, k);
      const { tol } = backwardReference(act, m, n, k, cs);
      expectClose(backwardOn(wasm, act, m, n, k, cs), backwardOn(js, act, m, n, k, cs), tol.map((t) => 2 * t),
        `gemmNTBackward ${act} ${m}×${n}×${k}: wasm vs js`);
    }
  });
});

// --- The tile constants the boundary shapes are derived from -----------------------------------

describe('test/support/gemm-tiles.ts', () => {
  it('mirrors the blocking constants of assembly/gemm.ts', () => {
    const source = readFileSync(new URL('../assembly/gemm.ts', import.meta.url), 'utf8');
    for (const [name, value] of Object.entries(GEMM_TILES)) {
      const found = Array.from(source.matchAll(new RegExp(`^const ${name} = (\\d+);`, 'gm')), (d) => Number(d[1]));
      expect(found, `const ${name} in assembly/gemm.ts`).toEqual([value]);
    }
  });

  it('gives assembly/sparse.ts the k-slab depth of assembly/gemm.ts (same slabs, same sums)', () => {
    const source = readFileSync(new URL('../assembly/sparse.ts', import.meta.url), 'utf8');
    const found = Array.from(source.matchAll(/^const KC = (\d+);/gm), (d) => Number(d[1]));
    expect(found).toEqual([GEMM_TILES.KC]);
  });
});
