/**
 * Whole training runs: the problems a dense network must solve (a linear boundary, XOR, two
 * spirals), the mechanics of fit (partial batches, shuffling, validation, callbacks), and the two
 * backends agreeing from the same seed.
 */
import { describe, expect, it } from 'vitest';
import { dense, moons, sequential, spiral, type Logs, type Sequential } from '../src/index.js';
import { BACKEND_NAMES, BOTH_BACKENDS } from './backends.js';
import { mulberry32 } from './prng.js';

/** Points in [−1, 1]² labelled by the side of x₁ + 2x₂ = 0.2, none within 0.1 of the line. */
function separable(n: number): { x: number[][]; y: number[] } {
  const rand = mulberry32(17);
  const x: number[][] = [];
  const y: number[] = [];
  while (x.length < n) {
    const p = [2 * rand() - 1, 2 * rand() - 1];
    const side = (p[0] + 2 * p[1] - 0.2) / Math.sqrt(5);
    if (Math.abs(side) < 0.1) continue;
    x.push(p);
    y.push(side > 0 ? 1 : 0);
  }
  return { x, y };
}

async function withModel<T>(model: Sequential, body: (m: Sequential) => Promise<T>): Promise<T> {
  try {
    return await body(model);
  } finally {
    model.dispose();
  }
}

describe.each(BACKEND_NAMES)('training on %s', (backend) => {
  it('logistic regression (one sigmoid unit) separates linearly separable data', async () => {
    const { x, y } = separable(200);
    const model = await sequential({ layers: [dense({ units: 1, activation: 'sigmoid', inputShape: [2] })], backend, seed: 1 });
    await withModel(model, async () => {
      model.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'adam', learningRate: 0.1 }, metrics: ['accuracy'] });
      const history = await model.fit(x, y, { epochs: 60, batchSize: 16, seed: 1 });
      expect(history.history.loss.at(-1)!).toBeLessThan(history.history.loss[0] / 2);
      expect(model.evaluate(x, y).acc).toBe(1);
    });
  });

  it('a two-layer network learns XOR', async () => {
    const x = [[0, 0], [0, 1], [1, 0], [1, 1]];
    const y = [0, 1, 1, 0];
    const model = await sequential({
      layers: [dense({ units: 8, activation: 'tanh', inputShape: [2] }), dense({ units: 1, activation: 'sigmoid' })],
      backend,
      seed: 1,
    });
    await withModel(model, async () => {
      model.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'adam', learningRate: 0.05 }, metrics: ['accuracy'] });
      await model.fit(x, y, { epochs: 300, batchSize: 4 });
      const { loss, acc } = model.evaluate(x, y);
      expect(acc).toBe(1);
      expect(loss).toBeLessThan(0.1);
    });
  });

  it('a network with two hidden layers reaches ≥ 97% on two spirals, its loss falling', async () => {
    const { x, y } = spiral(400, 1);
    const model = await sequential({
      layers: [
        dense({ units: 32, activation: 'relu', inputShape: [2] }),
        dense({ units: 32, activation: 'relu' }),
        dense({ units: 1, activation: 'sigmoid' }),
      ],
      backend,
      seed: 1,
    });
    await withModel(model, async () => {
      model.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'adam', learningRate: 0.01 }, metrics: ['accuracy'] });
      const { history } = await model.fit(x, y, { epochs: 40, batchSize: 32, seed: 2 });
      expect(history.loss.at(-1)!).toBeLessThan(history.loss[0] / 4);
      expect(model.evaluate(x, y).acc).toBeGreaterThanOrEqual(0.97);
    });
  });

  it('a partial last batch is a step over its own rows, with its own 1/m', async () => {
    // 5 rows in batches of 3: a step on rows 0–2, then one on rows 3–4. Replayed by hand from
    // _computeGradients (checked against finite differences in gradcheck) and w ← w − lr·g.
    const { x: xs, y: ys } = moons(5, 3);
    const x = Array.from({ length: 5 }, (_, r) => [xs.data[2 * r], xs.data[2 * r + 1]]);
    const y = Array.from(ys);
    const build = async () => {
      const m = await sequential({
        layers: [dense({ units: 4, activation: 'tanh', inputShape: [2] }), dense({ units: 1, activation: 'sigmoid' })],
        backend,
        seed: 4,
      });
      m.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'sgd', learningRate: 0.5 } });
      return m;
    };
    const [trained, byHand] = [await build(), await build()];
    try {
      const batches: number[] = [];
      await trained.fit(x, y, { epochs: 1, batchSize: 3, shuffle: false, callbacks: { onBatchEnd: (b) => void batches.push(b) } });
      expect(batches).toEqual([0, 1]);
      for (const [from, to] of [[0, 3], [3, 5]]) {
        const { grads } = byHand._computeGradients(x.slice(from, to), y.slice(from, to));
        byHand.setWeights(byHand.getWeights().map((w, t) => w.map((v, i) => v - 0.5 * grads[t][i])));
      }
      const got = trained.getWeights();
      byHand.getWeights().forEach((w, t) => w.forEach((v, i) => expect(Math.abs(got[t][i] - v)).toBeLessThan(1e-6)));
    } finally {
      trained.dispose();
      byHand.dispose();
    }
  });

  it('shuffling follows the fit seed; validationSplit holds out the last rows, before shuffling', async () => {
    const { x, y } = moons(200, 5);
    const first150 = { data: x.data.subarray(0, 300), shape: [150, 2] as [number, number] };
    const last50 = { data: x.data.subarray(300), shape: [50, 2] as [number, number] };
    const run = async (xs: typeof x, ys: Float32Array, options: object) => {
      const model = await sequential({
        layers: [dense({ units: 8, activation: 'relu', inputShape: [2] }), dense({ units: 1, activation: 'sigmoid' })],
        backend,
        seed: 9,
      });
      return withModel(model, async () => {
        model.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'adam', learningRate: 0.01 }, metrics: ['accuracy'] });
        const { history } = await model.fit(xs, ys, { epochs: 3, batchSize: 16, ...options });
        return { history, lastRowsLoss: model.evaluate(last50, y.subarray(150)).loss };
      });
    };
    const a = await run(x, y, { seed: 1 });
    const b = await run(x, y, { seed: 1 });
    const c = await run(x, y, { seed: 2 });
    expect(b.history.loss).toEqual(a.history.loss);
    expect(c.history.loss).not.toEqual(a.history.loss);

    // Splitting off 25% must train on rows 0–149 exactly as if only they were given, and
    // validate on rows 150–199.
    const split = await run(x, y, { seed: 1, validationSplit: 0.25 });
    const explicit = await run(first150, y.subarray(0, 150), { seed: 1, validationData: [last50, y.subarray(150)] });
    expect(split.history.val_loss).toHaveLength(3);
    expect(split.history.val_acc).toHaveLength(3);
    expect(split.history).toEqual(explicit.history);
    expect(Math.abs(split.history.val_loss!.at(-1)! - split.lastRowsLoss)).toBeLessThan(1e-6);
  });

  it('callbacks: onBatchEnd per batch, onEpochEnd awaited with the epoch logs', async () => {
    const { x, y } = moons(50, 2);
    const model = await sequential({ layers: [dense({ units: 1, activation: 'sigmoid', inputShape: [2] })], backend });
    await withModel(model, async () => {
      model.compile({ loss: 'binaryCrossentropy', optimizer: 'adam', metrics: ['accuracy'] });
      const events: string[] = [];
      const epochLogs: Logs[] = [];
      let settled = true;
      const history = await model.fit(x, y, {
        epochs: 2,
        batchSize: 20,
        validationSplit: 0.2,
        callbacks: {
          onBatchEnd(batch, logs) {
            expect(settled).toBe(true); // the previous epoch's async callback finished first
            expect(Number.isFinite(logs.loss) && logs.acc! >= 0 && logs.acc! <= 1).toBe(true);
            events.push(`b${batch}`);
          },
          async onEpochEnd(epoch, logs) {
            settled = false;
            await new Promise((resolve) => setTimeout(resolve, 5));
            settled = true;
            epochLogs.push({ ...logs });
            events.push(`e${epoch}`);
          },
        },
      });
      expect(events).toEqual(['b0', 'b1', 'e0', 'b0', 'b1', 'e1']); // 40 training rows: 20 + 20
      expect(epochLogs.map((l) => l.loss)).toEqual(history.history.loss);
      expect(epochLogs.map((l) => l.val_acc)).toEqual(history.history.val_acc);
      expect(epochLogs.every((l) => l.samplesPerSec! > 0)).toBe(true);
      expect(history.epoch).toEqual([0, 1]);
    });
  });
});

describe.runIf(BOTH_BACKENDS)('wasm and js agree', () => {
  const layers = () => [
    dense({ units: 16, activation: 'tanh', inputShape: [2] }),
    dense({ units: 16, activation: 'relu' }),
    dense({ units: 1, activation: 'sigmoid' }),
  ];

  it('the same seed gives bit-identical initial weights', async () => {
    const [js, wasm] = [await sequential({ layers: layers(), backend: 'js', seed: 42 }), await sequential({ layers: layers(), backend: 'wasm', seed: 42 })];
    const bits = (m: Sequential) => m.getWeights().map((w) => Array.from(new Uint32Array(w.buffer, w.byteOffset, w.length)));
    expect(bits(wasm)).toEqual(bits(js));
    js.dispose();
    wasm.dispose();
  });

  it('the same per-epoch losses, to a relative 1e-4', async () => {
    // The kernels differ only in float32 rounding (summation order, SIMD exp); over a few epochs
    // that stays near 1e-6 relative, so 1e-4 leaves room and still catches a different update.
    const { x, y } = moons(300, 8);
    const curves: number[][] = [];
    for (const backend of ['js', 'wasm'] as const) {
      const model = await sequential({ layers: layers(), backend, seed: 3 });
      await withModel(model, async () => {
        model.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'adam', learningRate: 0.01 }, metrics: ['accuracy'] });
        const { history } = await model.fit(x, y, { epochs: 5, batchSize: 32, seed: 5, validationSplit: 0.2 });
        curves.push([...history.loss, ...history.val_loss!]);
      });
    }
    curves[0].forEach((v, i) => expect(Math.abs(curves[1][i] - v)).toBeLessThanOrEqual(1e-4 * Math.abs(v)));
  });
});
