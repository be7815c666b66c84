/**
 * Backprop against central finite differences. The gradient under test is read from the model's
 * gradient region after one forward/backward pass (float32 kernels); the reference differentiates
 * the float64 reference kernels of test/reference.ts (itself tested against hand-computed values),
 * chained into a forward pass at the model's own weights.
 */
import { describe, expect, it } from 'vitest';
import { dense, sequential, type ActivationName, type LossName, type Sequential } from '../src/index.js';
import { BACKEND_NAMES } from './backends.js';
import { mulberry32 } from './prng.js';
import * as ref from './reference.js';

const ALPHA = 0.1; // leakyRelu slope, large enough that a wrong slope shows
const HIDDEN: ActivationName[] = ['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu', 'softmax'];
const OUTPUTS: { loss: LossName; activation: ActivationName; units: number }[] = [
  { loss: 'binaryCrossentropy', activation: 'sigmoid', units: 1 },
  { loss: 'binaryCrossentropy', activation: 'sigmoid', units: 2 }, // multi-label: mean over m·n
  { loss: 'categoricalCrossentropy', activation: 'softmax', units: 3 },
  ...(['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu'] as const).map((activation) => ({
    loss: 'meanSquaredError' as const, activation, units: 2,
  })),
];
const WIDTHS = [3, 5, 4]; // 3 inputs, hidden layers of 5 and 4, then the output layer
const ROWS = 6;

// --- float64 forward pass and loss, from the reference kernels (rows are samples) ------------

interface Net64 { weights: number[][]; acts: ActivationName[]; widths: number[] }

/**
 * Per layer: Z = A_prev·W + b, A = g(Z), with test/reference.ts's float64 kernels. Returns the
 * output layer's Z and A, and the smallest |z| at a relu kink.
 */
function forward64(net: Net64, x: number[][]): { z: Float64Array; a: Float64Array; minKinkDistance: number } {
  const rows = x.length;
  let minKinkDistance = Infinity;
  let a: ArrayLike<number> = x.flat();
  let z: Float64Array = new Float64Array(0);
  net.acts.forEach((act, l) => {
    const [nIn, nOut] = [net.widths[l], net.widths[l + 1]];
    z = ref.biasAdd(ref.gemm(false, false, rows, nOut, nIn, a, net.weights[2 * l]).c, net.weights[2 * l + 1], rows, nOut);
    if (act === 'relu' || act === 'leakyRelu') for (const v of z) minKinkDistance = Math.min(minKinkDistance, Math.abs(v));
    a = ref.activation(act, z, rows, nOut, ALPHA);
  });
  return { z, a: a as Float64Array, minKinkDistance };
}

/** The loss of the reference kernels: BCE and CCE from the output's Z (as the fused kernels), MSE from A. */
function loss64(loss: LossName, x: number[][], y: number[][], net: Net64): number {
  const { z, a } = forward64(net, x);
  const [m, n] = [y.length, y[0].length];
  const t = y.flat();
  if (loss === 'binaryCrossentropy') return ref.bce(z, t, m, n).loss;
  if (loss === 'categoricalCrossentropy') return ref.cce(z, t, m, n).loss;
  return ref.mse(a, t, m, n).loss;
}

/** ∂loss/∂θ for every parameter by central differences, in float64. */
function finiteDifferences(net: Net64, loss: LossName, x: number[][], y: number[][]): number[][] {
  const h = 1e-6;
  return net.weights.map((tensor) => tensor.map((_, i) => {
    const keep = tensor[i];
    tensor[i] = keep + h;
    const plus = loss64(loss, x, y, net);
    tensor[i] = keep - h;
    const minus = loss64(loss, x, y, net);
    tensor[i] = keep;
    return (plus - minus) / (2 * h);
  }));
}

// --- the check --------------------------------------------------------------------------------

function labels(loss: LossName, units: number, rand: () => number): number[][] {
  return Array.from({ length: ROWS }, () => {
    if (loss === 'categoricalCrossentropy') {
      const row = new Array<number>(units).fill(0);
      row[Math.floor(rand() * units)] = 1;
      return row;
    }
    if (loss === 'binaryCrossentropy') return Array.from({ length: units }, () => (rand() < 0.5 ? 0 : 1));
    return Array.from({ length: units }, () => 2 * rand() - 1);
  });
}

/**
 * Tolerance. The kernels run in float32 (unit roundoff u = 2^-24 ≈ 6e-8); each gradient entry is
 * a sum over ≤ 6 rows of products along a chain of three layers of dot products of ≤ 5 terms, so
 * its rounding error is a few dozen u relative to the magnitude of the terms summed, i.e. ~1e-6
 * of the gradient's scale. The float64 central difference with h = 1e-6 is off by O(h²·f''') ≈
 * 1e-12 plus O(u₆₄/h) ≈ 1e-10. We allow 1e-4·|g| + 1e-5·max|g|: two orders of magnitude above the
 * float32 error, and still far below what a wrong formula gives (a missing 1/m, a wrong slope or a
 * transposed product all change entries by O(|g|)).
 */
function expectGradientsClose(got: Float32Array[], want: number[][], what: string): void {
  const scale = Math.max(...want.flat().map(Math.abs));
  got.forEach((tensor, t) => tensor.forEach((v, i) => {
    const ref = want[t][i];
    const allowed = 1e-4 * Math.abs(ref) + 1e-5 * scale;
    if (!(Math.abs(v - ref) <= allowed)) {
      expect.fail(`${what}: tensor ${t} [${i}]: backprop ${v}, finite differences ${ref}, |diff| ${Math.abs(v - ref)} > ${allowed}`);
    }
  }));
}

describe.each(BACKEND_NAMES)('gradient check on %s', (backend) => {
  for (const out of OUTPUTS) {
    it.each(HIDDEN)(`hidden %s → ${out.activation} output, ${out.loss} (${out.units} units)`, async (hidden) => {
      const acts: ActivationName[] = [hidden, hidden, out.activation];
      const widths = [...WIDTHS, out.units];
      const model: Sequential = await sequential({
        layers: acts.map((activation, l) => dense({
          units: widths[l + 1], activation, alpha: ALPHA, ...(l === 0 ? { inputShape: [widths[0]] as [number] } : {}),
        })),
        backend,
        seed: 11,
      });
      try {
        model.compile({ loss: out.loss, optimizer: 'sgd' });
        const net: Net64 = { weights: model.getWeights().map((w) => Array.from(w)), acts, widths };
        // Inputs: redraw until every relu pre-activation is ≥ 1e-3 from its kink, so that the
        // finite difference (step 1e-6 in a weight) never straddles it.
        const rand = mulberry32(5);
        let x: number[][];
        do {
          x = Array.from({ length: ROWS }, () => Array.from({ length: widths[0] }, () => Math.fround(4 * rand() - 2)));
        } while (forward64(net, x).minKinkDistance < 1e-3);
        const y = labels(out.loss, out.units, rand);

        const { loss, grads } = model._computeGradients(x, y);
        const want = finiteDifferences(net, out.loss, x, y);
        expect(grads.map((t) => t.length)).toEqual(want.map((t) => t.length));
        expectGradientsClose(grads, want, `${hidden}/${out.activation}/${out.loss}`);
        const refLoss = loss64(out.loss, x, y, net);
        expect(Math.abs(loss - refLoss)).toBeLessThanOrEqual(1e-5 * Math.abs(refLoss) + 1e-6);
      } finally {
        model.dispose();
      }
    });
  }
});
