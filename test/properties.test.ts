/**
 * The two backends agree, for random shapes (1, non-multiples of 4, widths across the SIMD tails),
 * random activations, losses and optimizers: forward outputs, gradients and optimizer updates of
 * the wasm backend match the js backend's within a stated tolerance. Property-based (fast-check)
 * with a fixed seed, so every run checks the same cases.
 *
 * Tolerance. The backends sum in different orders (SIMD lanes, blocking), so they differ by float32
 * rounding that grows with the length of the sums and through the layers. Each tensor is compared
 * as a whole: |wasm − js| ≤ REL · max|js| + ABS elementwise, relative to the tensor's scale, since
 * an element near zero that arose by cancellation carries its inputs' rounding, not its own.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBackend, dense, sequential, type ActivationName, type Backend, type LossName, type Sequential } from '../src/index.js';
import { BOTH_BACKENDS } from './backends.js';
import { mulberry32, oneHot, uniform } from './prng.js';

/** Forward outputs and gradients: 2^-15 of the tensor's scale (float32 rounds at 2^-24: room for ~500 roundings). */
const REL = 2 ** -15;
const ABS = 1e-7;
/**
 * Optimizer updates on identical inputs, elementwise: the step w′ − w within 2^-16 of itself (the
 * backends evaluate √, division and powers of β differently), plus two roundings of w′ itself.
 */
const STEP_REL = 2 ** -16;
const STATE_REL = 2 ** -20;
const U32 = 2 ** -24;
const SEED = 20250301;

const HIDDEN: ActivationName[] = ['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu', 'softmax'];
const OUTPUTS: { loss: LossName; activation: ActivationName }[] = [
  { loss: 'binaryCrossentropy', activation: 'sigmoid' },
  { loss: 'categoricalCrossentropy', activation: 'softmax' },
  ...(['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu'] as const).map((activation) => ({ loss: 'meanSquaredError' as const, activation })),
];

const width = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 40 }));
const architecture = fc.record({
  inputs: width,
  hidden: fc.array(fc.record({ units: width, activation: fc.constantFrom(...HIDDEN) }), { maxLength: 3 }),
  output: fc.constantFrom(...OUTPUTS),
  outputUnits: fc.integer({ min: 1, max: 7 }),
  alpha: fc.double({ min: 0.01, max: 0.5, noNaN: true }),
  rows: fc.integer({ min: 1, max: 37 }),
  seed: fc.nat(1_000_000),
});
type Architecture = typeof architecture extends fc.Arbitrary<infer T> ? T : never;

async function build(a: Architecture, backend: 'js' | 'wasm'): Promise<Sequential> {
  const layers = [
    ...a.hidden.map((h, i) => dense({ units: h.units, activation: h.activation, alpha: a.alpha, ...(i === 0 ? { inputShape: [a.inputs] as [number] } : {}) })),
    dense({ units: a.outputUnits, activation: a.output.activation, alpha: a.alpha, ...(a.hidden.length === 0 ? { inputShape: [a.inputs] as [number] } : {}) }),
  ];
  const model = await sequential({ layers, backend, seed: a.seed });
  model.compile({ loss: a.output.loss, optimizer: { type: 'sgd', learningRate: 0.1 } });
  return model;
}

function data(a: Architecture): { x: { data: Float32Array; shape: [number, number] }; y: { data: Float32Array; shape: [number, number] } } {
  const rand = mulberry32(a.seed);
  const x = uniform(rand, a.rows * a.inputs, -2, 2);
  const n = a.outputUnits;
  const y = a.output.loss === 'categoricalCrossentropy'
    ? (n === 1 ? new Float32Array(a.rows).fill(1) : oneHot(rand, a.rows, n))
    : a.output.loss === 'binaryCrossentropy'
      ? uniform(rand, a.rows * n, 0, 1).map(Math.round)
      : uniform(rand, a.rows * n, -1, 1);
  return { x: { data: x, shape: [a.rows, a.inputs] }, y: { data: y, shape: [a.rows, n] } };
}

/** Largest |wasm − js| as a multiple of what the tolerance allows (≤ 1 passes). */
function excess(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, elementwise = false): number {
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const allowed = rel * (elementwise ? Math.abs(want[i]) : scale) + ABS;
    const err = Math.abs(got[i] - want[i]);
    worst = Math.max(worst, Number.isNaN(err) ? Infinity : err / allowed);
  }
  return worst;
}

function expectWithin(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, what: string, elementwise = false): void {
  const e = excess(got, want, rel, elementwise);
  expect(e, `${what}: worst difference is ${e.toFixed(2)}× the tolerance`).toBeLessThanOrEqual(1);
}

describe.runIf(BOTH_BACKENDS)('wasm and js agree', () => {
  it('forward outputs, loss, gradients and an sgd step, for random networks', async () => {
    await fc.assert(
      fc.asyncProperty(architecture, async (a) => {
        const [wasm, js] = [await build(a, 'wasm'), await build(a, 'js')];
        try {
          const { x, y } = data(a);
          expect(wasm.getWeights()).toEqual(js.getWeights()); // same seed, same bits
          expectWithin(wasm.predict(x).data, js.predict(x).data, REL, 'predict');
          const gw = wasm._computeGradients(x, y);
          const gj = js._computeGradients(x, y);
          expectWithin([gw.loss], [gj.loss], REL, 'loss', true);
          gj.grads.forEach((g, i) => expectWithin(gw.grads[i], g, REL, `gradient ${i % 2 === 0 ? 'W' : 'b'}${(i >> 1) + 1}`));
          // One sgd step over the whole batch: w − 0.1·g, so the weights inherit the gradients' tolerance.
          await wasm.fit(x, y, { epochs: 1, batchSize: a.rows, shuffle: false });
          await js.fit(x, y, { epochs: 1, batchSize: a.rows, shuffle: false });
          const ww = wasm.getWeights();
          js.getWeights().forEach((w, i) => expectWithin(ww[i], w, REL, `weights after a step, tensor ${i}`));
        } finally {
          wasm.dispose();
          js.dispose();
        }
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('optimizer updates on identical inputs: sgd, momentum and adam', async () => {
    const backends: Backend[] = [await createBackend('wasm'), await createBackend('js')];
    const update = fc.record({
      n: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 70 })),
      type: fc.constantFrom('sgd', 'momentum', 'adam'),
      lr: fc.double({ min: 1e-4, max: 1, noNaN: true }),
      beta: fc.double({ min: 0, max: 0.999, noNaN: true }),
      beta2: fc.double({ min: 0.9, max: 0.9999, noNaN: true }),
      epsilon: fc.constantFrom(1e-7, 1e-8, 1e-3),
      l2: fc.constantFrom(0, 1e-4, 0.01),
      t: fc.integer({ min: 1, max: 5000 }),
      seed: fc.nat(),
    });
    fc.assert(
      fc.property(update, (u) => {
        const rand = mulberry32(u.seed);
        const w = uniform(rand, u.n, -2, 2);
        const g = uniform(rand, u.n, -1, 1);
        const m = uniform(rand, u.n, -0.5, 0.5);
        const v = uniform(rand, u.n, 0, 0.5);
        const results = backends.map((b) => {
          const mark = b.mark();
          try {
            const ptrs = [w, g, m, v].map((a) => {
              const p = b.alloc(a.length);
              b.f32.set(a, p >> 2);
              return p;
            });
            const [pw, pg, pm, pv] = ptrs;
            if (u.type === 'sgd') b.sgd(pw, pg, u.n, u.lr, u.l2);
            else if (u.type === 'momentum') b.momentum(pw, pg, pm, u.n, u.lr, u.beta, u.t, u.l2);
            else b.adam(pw, pg, pm, pv, u.n, u.lr, u.beta, u.beta2, u.epsilon, u.t, u.l2);
            return ptrs.map((p) => b.f32.slice(p >> 2, (p >> 2) + u.n));
          } finally {
            b.release(mark);
          }
        });
        const [[w1, , m1, v1], [w2, , m2, v2]] = results;
        for (let i = 0; i < u.n; i++) {
          const allowed = STEP_REL * Math.abs(w2[i] - w[i]) + 2 * U32 * Math.abs(w2[i]);
          expect(Math.abs(w1[i] - w2[i]), `${u.type}: w[${i}] after the update: wasm ${w1[i]}, js ${w2[i]}`).toBeLessThanOrEqual(allowed);
        }
        expectWithin(m1, m2, STATE_REL, `${u.type}: first moment`, true);
        expectWithin(v1, v2, STATE_REL, `${u.type}: second moment`, true);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });
});
