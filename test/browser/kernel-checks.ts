/**
 * Every kernel of the Backend interface, checked against the float64 reference of test/reference.ts.
 * Runs inside a browser page (test/browser/kernels.ts), so it imports nothing from Node and reports
 * plain data instead of using an assertion library.
 */
import type { Backend, Ptr } from '../../src/backend/backend.js';
import { ACTIVATION, ACTIVATION_NAMES } from '../../src/backend/backend.js';
import { mulberry32, oneHot, uniform } from '../prng.js';
import * as ref from '../reference.js';

export interface CheckResult {
  backend: string;
  name: string;
  ok: boolean;
  /** Largest error over the tolerance allowed for it (≤ 1 passes), or what went wrong. */
  detail: string;
}

const RTOL = 2e-5;
const ATOL = 2e-6;

/** Worst |got − want| / (ATOL + RTOL·|want|) over all elements. */
function worst(got: ArrayLike<number>, want: ArrayLike<number>, scale = 1): number {
  if (got.length !== want.length) return Infinity;
  let w = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) / (scale * (ATOL + RTOL * Math.abs(want[i])));
    if (!(e <= w)) w = Number.isNaN(e) ? Infinity : Math.max(w, e);
  }
  return w;
}

// --- the checks ---------------------------------------------------------------------------------

export function checkKernels(b: Backend): CheckResult[] {
  const results: CheckResult[] = [];
  const r = mulberry32(1234);
  const rand = (n: number, lo = -1, hi = 1) => uniform(r, n, lo, hi);
  // Views are re-read on every access: an alloc may grow memory and detach the old ones.
  const put = (v: ArrayLike<number>): Ptr => {
    const p = b.alloc(v.length);
    b.f32.set(v, p >> 2);
    return p;
  };
  const get = (p: Ptr, n: number): Float32Array => b.f32.slice(p >> 2, (p >> 2) + n);
  const check = (name: string, fn: () => number | string) => {
    const top = b.mark();
    try {
      const e = fn();
      const ok = typeof e === 'number' && e <= 1;
      results.push({ backend: b.name, name, ok, detail: typeof e === 'number' ? `error/tol ${e.toPrecision(3)}` : e });
    } catch (err) {
      results.push({ backend: b.name, name, ok: false, detail: `threw ${String(err)}` });
    } finally {
      b.release(top);
    }
  };

  // Sizes that are not multiples of the SIMD width or of the micro-tile, and one that spans tiles.
  for (const [m, n, k] of [[1, 1, 1], [13, 7, 9], [37, 29, 33]] as const) {
    for (const [name, tA, tB] of [['gemmNN', false, false], ['gemmTN', true, false], ['gemmNT', false, true]] as const) {
      for (const acc of [false, true]) {
        check(`${name} ${m}×${n}×${k}${acc ? ' accumulate' : ''}`, () => {
          const a = rand(m * k), bm = rand(k * n), c0 = rand(m * n);
          const pc = put(c0);
          b[name](m, n, k, put(a), put(bm), pc, acc);
          return worst(get(pc, m * n), ref.gemm(tA, tB, m, n, k, a, bm, acc ? c0 : undefined).c, Math.sqrt(k));
        });
      }
    }
  }

  // Kernels accept any 4-byte aligned pointer (a range of rows inside a larger buffer).
  check('gemmNN on pointers off the 16-byte grid', () => {
    const [m, n, k] = [13, 7, 9];
    const a = rand(m * k), bm = rand(k * n);
    const shifted = (v: Float32Array) => put([0, ...v]) + 4;
    const pc = b.alloc(m * n + 1) + 4;
    b.gemmNN(m, n, k, shifted(a), shifted(bm), pc, false);
    return worst(get(pc, m * n), ref.gemm(false, false, m, n, k, a, bm).c, Math.sqrt(k));
  });

  const m = 11, n = 6;
  check('biasAdd', () => {
    const x = rand(m * n), bias = rand(n);
    const px = put(x);
    b.biasAdd(px, put(bias), m, n);
    return worst(get(px, m * n), ref.biasAdd(x, bias, m, n));
  });
  for (const acc of [false, true]) {
    check(`colSum${acc ? ' accumulate' : ''}`, () => {
      const x = rand(m * n), o0 = rand(n);
      const po = put(o0);
      b.colSum(put(x), m, n, po, acc);
      return worst(get(po, n), ref.colSum(x, m, n, acc ? o0 : undefined), Math.sqrt(m));
    });
  }

  const alpha = 0.1;
  for (const act of ACTIVATION_NAMES) {
    const code = ACTIVATION[act];
    check(`activation ${act}`, () => {
      const x = rand(m * n, -6, 6);
      const px = put(x), py = b.alloc(m * n);
      b.activation(code, px, py, m, n, alpha);
      const want = ref.activation(act, x, m, n, alpha);
      // In place as well: y may alias x.
      b.activation(code, px, px, m, n, alpha);
      return Math.max(worst(get(py, m * n), want), worst(get(px, m * n), want));
    });
    check(`biasActivation ${act}`, () => {
      const x = rand(m * n, -4, 4), bias = rand(n, -2, 2);
      const px = put(x), py = b.alloc(m * n);
      b.biasActivation(code, px, put(bias), py, m, n, alpha);
      const want = ref.activation(act, ref.biasAdd(x, bias, m, n), m, n, alpha);
      return Math.max(worst(get(py, m * n), want), worst(get(px, m * n), x));
    });
    check(`activationBackward ${act}`, () => {
      const a = Float32Array.from(ref.activation(act, rand(m * n, -3, 3), m, n, alpha));
      const dA = rand(m * n);
      const pz = b.alloc(m * n);
      b.activationBackward(code, put(a), put(dA), pz, m, n, alpha);
      return worst(get(pz, m * n), ref.activationBackwardFromA(act, a, dA, m, n, alpha));
    });
  }

  check('lossSigmoidBce', () => {
    // Includes logits far out where a naive log(a) would give −Infinity.
    const z = rand(m * n, -5, 5);
    z[0] = 40;
    z[1] = -40;
    const a = Float32Array.from(ref.activation('sigmoid', z, m, n));
    const y = oneHot(r, m * n, 1);
    const pdz = b.alloc(m * n);
    const loss = b.lossSigmoidBce(put(z), put(a), put(y), pdz, m, n);
    const want = ref.bce(z, y, m, n);
    return Math.max(worst([loss], [want.loss]), worst(get(pdz, m * n), want.grad));
  });
  check('lossSoftmaxCce', () => {
    const z = rand(m * n, -5, 5);
    const a = Float32Array.from(ref.activation('softmax', z, m, n));
    const y = oneHot(r, m, n);
    const pdz = b.alloc(m * n);
    const loss = b.lossSoftmaxCce(put(z), put(a), put(y), pdz, m, n);
    const want = ref.cce(z, y, m, n);
    return Math.max(worst([loss], [want.loss]), worst(get(pdz, m * n), want.grad));
  });
  check('lossMse', () => {
    const a = rand(m * n), y = rand(m * n);
    const pda = b.alloc(m * n);
    const loss = b.lossMse(put(a), put(y), pda, m, n);
    const want = ref.mse(a, y, m, n);
    return Math.max(worst([loss], [want.loss]), worst(get(pda, m * n), want.grad));
  });
  check('countCorrect', () => {
    const a1 = [0.9, 0.2, 0.5, 0.49], y1 = [1, 0, 0, 0]; // 0.5 counts as class 1
    const a3 = [0.1, 0.7, 0.2, 0.5, 0.5, 0, 0.3, 0.3, 0.4], y3 = [0, 1, 0, 1, 0, 0, 0, 1, 0]; // ties: first wins
    const got = [b.countCorrect(put(a1), put(y1), 4, 1), b.countCorrect(put(a3), put(y3), 3, 3)];
    const want = [ref.countCorrect(a1, y1, 4, 1), ref.countCorrect(a3, y3, 3, 3)];
    return got.join() === want.join() ? 0 : `counted ${got.join(', ')}, expected ${want.join(', ')}`;
  });

  check('gatherRows', () => {
    const rows = 9, len = 5, idx = [8, 0, 3, 3, 7];
    const src = rand(rows * len);
    const pi = b.alloc(idx.length);
    b.i32.set(idx, pi >> 2);
    const pd = b.alloc(idx.length * len);
    b.gatherRows(put(src), pi, idx.length, len, pd);
    return worst(get(pd, idx.length * len), idx.flatMap((k) => Array.from(src.subarray(k * len, k * len + len))));
  });
  check('copy and fill', () => {
    const x = rand(23);
    const pd = b.alloc(23);
    b.copy(put(x), pd, 23);
    const copied = worst(get(pd, 23), x);
    b.fill(pd, 19, 0.25);
    return Math.max(copied, worst(get(pd, 23), [...new Array<number>(19).fill(0.25), ...x.subarray(19)]));
  });
  check('allFinite', () => {
    const px = put(rand(17));
    const clean = b.allFinite(px, 17);
    b.f32[(px >> 2) + 16] = NaN;
    const withNaN = b.allFinite(px, 17);
    b.f32[(px >> 2) + 16] = 0;
    b.f32[(px >> 2) + 3] = -Infinity;
    const withInf = b.allFinite(px, 17);
    return clean === 1 && withNaN === 0 && withInf === 0 ? 0 : `got ${clean}, ${withNaN}, ${withInf}; expected 1, 0, 0`;
  });

  // Optimizers over three steps, so bias correction with t > 1 is covered.
  const np = 19, lr = 0.05, l2 = 0.01;
  const grads = [rand(np), rand(np), rand(np)];
  const steps = (update: (pw: Ptr, pg: Ptr, t: number) => void, w: Float32Array) => {
    const pw = put(w);
    grads.forEach((g, i) => update(pw, put(g), i + 1));
    return get(pw, np);
  };
  check('sgd', () => {
    const w = rand(np);
    const got = steps((pw, pg) => b.sgd(pw, pg, np, lr, l2), w);
    return worst(got, ref.sgdSteps(w, grads, lr, l2).at(-1)!);
  });
  check('momentum', () => {
    const w = rand(np), pm = b.alloc(np);
    const got = steps((pw, pg, t) => b.momentum(pw, pg, pm, np, lr, 0.9, t, l2), w);
    return worst(got, ref.momentumSteps(w, grads, lr, 0.9, l2).at(-1)!);
  });
  check('adam', () => {
    const w = rand(np), pm = b.alloc(np), pv = b.alloc(np);
    const got = steps((pw, pg, t) => b.adam(pw, pg, pm, pv, np, lr, 0.9, 0.999, 1e-7, t, l2), w);
    // Adam divides by √v̂, which amplifies float32 rounding in the first steps.
    return worst(got, ref.adamSteps(w, grads, lr, 0.9, 0.999, 1e-7, l2).at(-1)!, 10);
  });

  check('alloc, mark and release', () => {
    const top = b.mark();
    const p = b.alloc(5);
    const zeroed = get(p, 5).every((v) => v === 0);
    const aligned = p % 16 === 0;
    b.release(top);
    const reused = b.alloc(5) === p;
    return zeroed && aligned && reused ? 0 : `zeroed ${zeroed}, aligned ${aligned}, reused after release ${reused}`;
  });

  return results;
}
