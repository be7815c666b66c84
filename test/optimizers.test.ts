/**
 * Optimizer updates on every backend: hand-computed weights after t = 1, 2, 3 steps, then longer
 * random runs against the float64 reference. Weights and optimizer state live in float32 between
 * steps, so each step may add a rounding of |w| (~6e-8 relative) and the update itself is good to
 * ~1e-6 relative: we allow 1e-5·(|w| + lr·t).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Ptr } from '../src/backend/index.js';
import { BACKEND_NAMES, BOTH_BACKENDS, makeBackend, read, scoped, upload } from './backends.js';
import { expectClose } from './assert.js';
import { mulberry32, uniform } from './prng.js';
import * as ref from './reference.js';

type Opt =
  | { type: 'sgd'; lr: number; l2: number }
  | { type: 'momentum'; lr: number; beta: number; l2: number }
  | { type: 'adam'; lr: number; beta1: number; beta2: number; epsilon: number; l2: number };

/** Runs the optimizer over the gradient sequence (t = 1, 2, …) and returns w after each step. */
function runSteps(b: Backend, opt: Opt, w0: ArrayLike<number>, grads: ArrayLike<number>[]): Float32Array[] {
  const n = w0.length;
  return scoped(b, () => {
    const w = upload(b, w0);
    const g = b.alloc(n);
    const m: Ptr = b.alloc(n); // state starts at zero (alloc zero-fills)
    const v: Ptr = b.alloc(n);
    const out: Float32Array[] = [];
    grads.forEach((grad, step) => {
      const t = step + 1;
      b.f32.set(grad, g >> 2);
      if (opt.type === 'sgd') b.sgd(w, g, n, opt.lr, opt.l2);
      else if (opt.type === 'momentum') b.momentum(w, g, m, n, opt.lr, opt.beta, t, opt.l2);
      else b.adam(w, g, m, v, n, opt.lr, opt.beta1, opt.beta2, opt.epsilon, t, opt.l2);
      out.push(read(b, w, n));
    });
    return out;
  });
}

function tol(lr: number, t: number) {
  return { rtol: 1e-5, atol: 1e-5 * lr * t };
}

// One weight starting at 1 with gradients 0.5, −0.25, 1.0; a second weight at 2 whose gradient is
// always 0 (it must not move; for Adam that needs ε, since m̂ = v̂ = 0).
const W0 = [1, 2];
const GRADS = [[0.5, 0], [-0.25, 0], [1.0, 0]];

describe.each(BACKEND_NAMES)('optimizers on %s', (name) => {
  let b: Backend;
  beforeAll(async () => { b = await makeBackend(name); });

  function expectSteps(opt: Opt, expected: number[], w0 = W0, grads = GRADS): void {
    const got = runSteps(b, opt, w0, grads);
    expected.forEach((w, i) => {
      expectClose(got[i], [w, w0[1]], tol(opt.lr, i + 1), `${opt.type} w after t=${i + 1}`);
    });
  }

  it('sgd by hand: w ← w − lr·g', () => {
    // lr = 0.1: 1 − 0.05 = 0.95; 0.95 + 0.025 = 0.975; 0.975 − 0.1 = 0.875
    expectSteps({ type: 'sgd', lr: 0.1, l2: 0 }, [0.95, 0.975, 0.875]);
  });

  it('sgd by hand with coupled l2: g′ = g + l2·w', () => {
    // lr = 0.1, l2 = 0.5: g′₁ = 0.5 + 0.5·1 = 1 → 0.9; g′₂ = −0.25 + 0.45 = 0.2 → 0.88;
    // g′₃ = 1 + 0.44 = 1.44 → 0.736. The zero-gradient weight decays: 2·(1 − 0.05)ᵗ.
    const got = runSteps(b, { type: 'sgd', lr: 0.1, l2: 0.5 }, W0, GRADS);
    [0.9, 0.88, 0.736].forEach((w, i) => {
      expectClose(got[i], [w, 2 * 0.95 ** (i + 1)], tol(0.1, i + 1), `sgd+l2 w after t=${i + 1}`);
    });
  });

  it('momentum by hand, with bias correction 1/(1−βᵗ)', () => {
    // lr = 0.1, β = 0.9, m₀ = 0:
    // t=1: m = 0.1·0.5 = 0.05;              m̂ = 0.05/(1−0.9)  = 0.5;       w = 1 − 0.05 = 0.95
    // t=2: m = 0.045 − 0.025 = 0.02;        m̂ = 0.02/(1−0.81) = 0.1052632; w = 0.95 − 0.01052632 = 0.9394737
    // t=3: m = 0.018 + 0.1 = 0.118;         m̂ = 0.118/(1−0.729) = 0.4354244; w = 0.9394737 − 0.04354244 = 0.8959312
    expectSteps({ type: 'momentum', lr: 0.1, beta: 0.9, l2: 0 }, [0.95, 0.939473684, 0.895931249]);
  });

  it('adam by hand, ε after the square root', () => {
    // lr = 0.1, β1 = 0.9, β2 = 0.999, ε = 1e-8:
    // t=1: m = 0.05, v = 0.00025;   m̂ = 0.5, v̂ = 0.25, √v̂ = 0.5;  w = 1 − 0.1·0.5/(0.5 + 1e-8) = 0.900000002
    // t=2: m = 0.02, v = 0.000249750 + 0.0000625 = 0.00031225;
    //      m̂ = 0.02/0.19 = 0.10526316, v̂ = 0.00031225/0.001999 = 0.15620310, √v̂ = 0.39522538;
    //      w = 0.900000002 − 0.1·0.10526316/0.39522538 = 0.87336630
    // t=3: m = 0.018 + 0.1 = 0.118, v = 0.00031193775 + 0.001 = 0.00131193775;
    //      m̂ = 0.118/0.271 = 0.43542435, v̂ = 0.00131193775/0.002997001 = 0.43775019, √v̂ = 0.66162692;
    //      w = 0.87336630 − 0.1·0.43542435/0.66162692 = 0.80755514
    expectSteps({ type: 'adam', lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, l2: 0 },
      [0.900000002, 0.8733663, 0.80755514]);
  });

  it('adam puts ε outside the square root', () => {
    // g = 1e-3, ε = 1e-3, t = 1: m̂ = g, v̂ = g², so w = 1 − 0.1·1e-3/(1e-3 + 1e-3) = 0.95.
    // (ε inside the root would give 1 − 0.1·1e-3/√(1e-6 + 1e-3) = 0.99684.)
    const got = runSteps(b, { type: 'adam', lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-3, l2: 0 }, [1], [[1e-3]]);
    expectClose(got[0], [0.95], { rtol: 1e-6, atol: 0 }, 'adam ε placement');
  });

  it('momentum and adam keep their state between calls (same buffers, t counting up)', () => {
    // Constant gradient 1: bias-corrected momentum is exactly g every step, so w = 1 − lr·t.
    const got = runSteps(b, { type: 'momentum', lr: 0.1, beta: 0.9, l2: 0 }, [1], [[1], [1], [1], [1]]);
    expectClose(got.map((w) => w[0]), [0.9, 0.8, 0.7, 0.6], { rtol: 1e-6, atol: 0 }, 'momentum, constant gradient');
    // Adam with a constant gradient: m̂ = g and v̂ = g², so each step moves by lr·g/(|g| + ε) ≈ lr.
    const ad = runSteps(b, { type: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, l2: 0 }, [1], [[2], [2], [2]]);
    expectClose(ad.map((w) => w[0]), [0.99, 0.98, 0.97], { rtol: 1e-6, atol: 0 }, 'adam, constant gradient');
  });

  const RANDOM: Opt[] = [
    { type: 'sgd', lr: 0.05, l2: 0 },
    { type: 'sgd', lr: 0.05, l2: 0.01 },
    { type: 'momentum', lr: 0.05, beta: 0.9, l2: 0 },
    { type: 'momentum', lr: 0.05, beta: 0.8, l2: 0.01 },
    { type: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, l2: 0 },
    { type: 'adam', lr: 0.01, beta1: 0.8, beta2: 0.99, epsilon: 1e-8, l2: 0.01 },
  ];

  it.each(RANDOM)('$type (l2=$l2) over 6 steps on 67 weights matches the float64 reference', (opt) => {
    const n = 67;
    const rng = mulberry32(11);
    const w0 = uniform(rng, n, -2, 2);
    const grads = Array.from({ length: 6 }, () => {
      const g = uniform(rng, n, -1, 1);
      for (let i = 0; i < n; i += 5) g[i] = 0; // exact zeros: Adam's 0/(0 + ε) must stay 0
      return g;
    });
    const got = runSteps(b, opt, w0, grads);
    const want = opt.type === 'sgd' ? ref.sgdSteps(w0, grads, opt.lr, opt.l2)
      : opt.type === 'momentum' ? ref.momentumSteps(w0, grads, opt.lr, opt.beta, opt.l2)
      : ref.adamSteps(w0, grads, opt.lr, opt.beta1, opt.beta2, opt.epsilon, opt.l2);
    want.forEach((w, i) => expectClose(got[i], w, tol(opt.lr, i + 1), `${opt.type} l2=${opt.l2} t=${i + 1}`));
    expect(got.every((w) => w.every(Number.isFinite))).toBe(true);
  });
});

describe.runIf(BOTH_BACKENDS)('optimizers: wasm agrees with js', () => {
  let js: Backend;
  let wasm: Backend;
  beforeAll(async () => { js = await makeBackend('js'); wasm = await makeBackend('wasm'); });

  it.each([
    { type: 'sgd', lr: 0.05, l2: 0.01 },
    { type: 'momentum', lr: 0.05, beta: 0.9, l2: 0.01 },
    { type: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, l2: 0.01 },
  ] as Opt[])('$type over 5 steps on 130 weights', (opt) => {
    const rng = mulberry32(77);
    const w0 = uniform(rng, 130, -1, 1);
    const grads = Array.from({ length: 5 }, () => uniform(rng, 130, -1, 1));
    const w = runSteps(wasm, opt, w0, grads);
    const j = runSteps(js, opt, w0, grads);
    j.forEach((jw, i) => expectClose(w[i], jw, { rtol: 2e-5, atol: 2e-5 * opt.lr * (i + 1) }, `${opt.type} t=${i + 1}: wasm vs js`));
  });
});
