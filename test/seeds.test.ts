/**
 * The closed forms of backpropagation, by hand in float64, against the library: a 2-3-1 network with
 * sigmoid hidden and output units and binary cross-entropy over m = 4 samples (the formulas of
 * docs/ARCHITECTURE.md, 'Where the math lives'), then gradient descent, momentum and Adam steps.
 *
 * The usual derivations write samples as columns; the library is batch-first (samples as rows), so
 * every formula appears here transposed:
 *   columns: dZ[2] = A[2] − Y;   dW[2] = (1/m) dZ[2] A[1]ᵀ;  db[2] = (1/m) Σ_cols dZ[2]
 *            dZ[1] = W[2]ᵀ dZ[2] ⊙ g'(Z[1]);  dW[1] = (1/m) dZ[1] Xᵀ;  db[1] = (1/m) Σ_cols dZ[1]
 *   here:    dZ2 = (A2 − Y)/m;  dW2 = A1ᵀ·dZ2;  db2 = Σ_rows dZ2
 *            dZ1 = (dZ2·W2ᵀ) ⊙ A1(1 − A1);  dW1 = Xᵀ·dZ1;  db1 = Σ_rows dZ1
 */
import { describe, expect, it } from 'vitest';
import { dense, sequential, type OptimizerConfig } from '../src/index.js';
import { BACKEND_NAMES } from './backends.js';

type M = number[][];

const X: M = [[0.5, -1], [1, 2], [-1.5, 0.25], [0, 1]];
const Y: M = [[1], [0], [1], [0]];
const m = X.length;
// Weights in the library's layout: W1 [2 inputs × 3 units], W2 [3 × 1].
const W1: M = [[0.2, -0.4, 0.7], [0.5, 0.1, -0.3]];
const B1 = [0.1, -0.2, 0.05];
const W2: M = [[0.6], [-0.8], [0.3]];
const B2 = [0.2];

const sigma = (z: number): number => 1 / (1 + Math.exp(-z));
const matmul = (a: M, b: M): M => a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
const transpose = (a: M): M => a[0].map((_, j) => a.map((row) => row[j]));
const addRow = (a: M, b: number[]): M => a.map((row) => row.map((v, j) => v + b[j]));
const map = (a: M, f: (v: number, i: number, j: number) => number): M => a.map((row, i) => row.map((v, j) => f(v, i, j)));
const sumRows = (a: M): number[] => a[0].map((_, j) => a.reduce((s, row) => s + row[j], 0));

interface Params { W1: M; b1: number[]; W2: M; b2: number[] }

/** Forward pass, loss J and the gradients of the closed forms above, batch-first, in float64. */
function closedForm(p: Params): { J: number; dW1: M; db1: number[]; dW2: M; db2: number[] } {
  const A1 = map(addRow(matmul(X, p.W1), p.b1), sigma);
  const A2 = map(addRow(matmul(A1, p.W2), p.b2), sigma);
  const J = A2.reduce((s, [a], i) => s - Y[i][0] * Math.log(a) - (1 - Y[i][0]) * Math.log(1 - a), 0) / m;
  const dZ2 = map(A2, (a, i, j) => (a - Y[i][j]) / m);
  const dW2 = matmul(transpose(A1), dZ2);
  const db2 = sumRows(dZ2);
  const dZ1 = map(matmul(dZ2, transpose(p.W2)), (v, i, j) => v * A1[i][j] * (1 - A1[i][j]));
  const dW1 = matmul(transpose(X), dZ1);
  const db1 = sumRows(dZ1);
  return { J, dW1, db1, dW2, db2 };
}

const flat = (p: Params): number[][] => [p.W1.flat(), p.b1, p.W2.flat(), p.b2];
const INITIAL: Params = { W1, b1: B1, W2, b2: B2 };

/** |got − want| ≤ 2e-6 per entry: float32 keeps ~7 digits, and every value here is O(1). */
function expectAllClose(got: ArrayLike<number>[], want: number[][], what: string): void {
  want.forEach((tensor, t) => tensor.forEach((v, i) => {
    if (!(Math.abs(got[t][i] - v) <= 2e-6)) expect.fail(`${what}: tensor ${t} [${i}] got ${got[t][i]}, want ${v}`);
  }));
}

async function model(backend: 'js' | 'wasm', optimizer: OptimizerConfig) {
  const net = await sequential({
    layers: [dense({ units: 3, activation: 'sigmoid', inputShape: [2] }), dense({ units: 1, activation: 'sigmoid' })],
    backend,
  });
  net.compile({ loss: 'binaryCrossentropy', optimizer });
  net.setWeights(flat(INITIAL));
  return net;
}

/** One update per epoch: the whole batch of 4, in order. */
const ONE_STEP_PER_EPOCH = { batchSize: 4, shuffle: false } as const;

describe.each(BACKEND_NAMES)('seed formulas on %s', (backend) => {
  it('the notes, in the columns layout, are the transposes of the batch-first forms', () => {
    // A check on the test itself: the column form dW[2] = (1/m)(A[2] − Y)A[1]ᵀ, samples as columns.
    const cf = closedForm(INITIAL);
    const A1cols = transpose(map(addRow(matmul(X, W1), B1), sigma)); // [3 × m]
    const A2cols = transpose(map(addRow(matmul(transpose(A1cols), W2), B2), sigma)); // [1 × m]
    const dZ2cols = map(A2cols, (a, _, j) => a - Y[j][0]);
    const dW2cols = map(matmul(dZ2cols, transpose(A1cols)), (v) => v / m); // [1 × 3]
    expectAllClose([transpose(dW2cols).flat()], [cf.dW2.flat()], 'dW[2] columns vs rows');
  });

  it('backprop gives dW1, db1, dW2, db2 of the closed forms', async () => {
    const net = await model(backend, { type: 'sgd' });
    try {
      const { loss, grads } = net._computeGradients(X, Y);
      const cf = closedForm(INITIAL);
      expect(Math.abs(loss - cf.J)).toBeLessThan(1e-6);
      expectAllClose(grads, [cf.dW1.flat(), cf.db1, cf.dW2.flat(), cf.db2], 'gradients');
    } finally {
      net.dispose();
    }
  });

  it('gradient descent: w ← w − α·∇J', async () => {
    const lr = 0.5;
    const net = await model(backend, { type: 'sgd', learningRate: lr });
    try {
      await net.fit(X, Y, { epochs: 1, ...ONE_STEP_PER_EPOCH });
      const g = closedForm(INITIAL);
      const gradient = [g.dW1.flat(), g.db1, g.dW2.flat(), g.db2];
      expectAllClose(net.getWeights(), flat(INITIAL).map((w, t) => w.map((v, i) => v - lr * gradient[t][i])), 'one step');
    } finally {
      net.dispose();
    }
  });

  it('momentum and Adam with bias correction, two steps', async () => {
    const lr = 0.1;
    const configs: OptimizerConfig[] = [
      { type: 'momentum', learningRate: lr, beta: 0.9 },
      { type: 'adam', learningRate: lr, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
    ];
    for (const config of configs) {
      const net = await model(backend, config);
      try {
        await net.fit(X, Y, { epochs: 2, ...ONE_STEP_PER_EPOCH });
        // By hand: the gradient at each step from the closed forms, and the update rules.
        let w = flat(INITIAL);
        let mom = w.map((t) => t.map(() => 0));
        let vel = w.map((t) => t.map(() => 0));
        for (let t = 1; t <= 2; t++) {
          const p: Params = {
            W1: [w[0].slice(0, 3), w[0].slice(3)], b1: w[1], W2: w[2].map((v) => [v]), b2: w[3],
          };
          const cf = closedForm(p);
          const grad = [cf.dW1.flat(), cf.db1, cf.dW2.flat(), cf.db2];
          if (config.type === 'momentum') {
            const beta = 0.9;
            mom = mom.map((tm, k) => tm.map((v, i) => beta * v + (1 - beta) * grad[k][i]));
            w = w.map((tw, k) => tw.map((v, i) => v - (lr * mom[k][i]) / (1 - beta ** t)));
          } else {
            const [b1, b2, eps] = [0.9, 0.999, 1e-7];
            mom = mom.map((tm, k) => tm.map((v, i) => b1 * v + (1 - b1) * grad[k][i]));
            vel = vel.map((tv, k) => tv.map((v, i) => b2 * v + (1 - b2) * grad[k][i] ** 2));
            w = w.map((tw, k) => tw.map((v, i) =>
              v - (lr * mom[k][i] / (1 - b1 ** t)) / (Math.sqrt(vel[k][i] / (1 - b2 ** t)) + eps)));
          }
        }
        expectAllClose(net.getWeights(), w, `${config.type}, two steps`);
      } finally {
        net.dispose();
      }
    }
  });
});
