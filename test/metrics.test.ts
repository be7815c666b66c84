/**
 * Keras and TensorFlow.js habits: the metric names users type (acc, mse, mae and the long names),
 * computed in fit's logs and history, with validation data, in evaluate, and watched by monitors;
 * and fit's `verbose`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dense, sequential, SimdnetError, type Sequential } from '../src/index.js';
import { BACKEND_NAMES } from './backends.js';

const X = Array.from({ length: 24 }, (_, i) => [Math.sin(i), Math.cos(1.3 * i), (i % 5) / 4]);
const TARGETS = X.map(([a, b, c]) => [a - 2 * b + c, 0.5 * a * b]);
const XV = X.slice(0, 8).map(([a, b, c]) => [b, c, a]);
const TV = XV.map(([a, b, c]) => [a - 2 * b + c, 0.5 * a * b]);

async function regression(backend: 'wasm' | 'js', metrics: string[]): Promise<Sequential> {
  const model = await sequential({
    layers: [dense({ units: 6, activation: 'tanh', inputShape: [3] }), dense({ units: 2 })],
    backend,
    seed: 5,
  });
  model.compile({ loss: 'meanSquaredError', optimizer: { type: 'adam', learningRate: 0.01 }, metrics: metrics as ['mse'] });
  return model;
}

/** Mean of |a − y| and of (a − y)² over every output, in float64 from the model's predictions. */
function errors(model: Sequential, x: number[][], y: number[][]): { mse: number; mae: number } {
  const out = model.predict(x).data;
  let sq = 0, abs = 0;
  y.flat().forEach((t, i) => {
    sq += (out[i] - t) ** 2;
    abs += Math.abs(out[i] - t);
  });
  return { mse: sq / out.length, mae: abs / out.length };
}

describe.each(BACKEND_NAMES)('metrics on %s', (backend) => {
  it("'mse' and 'mae' in fit's logs, history and validation figures, and in evaluate", async () => {
    const model = await regression(backend, ['mse', 'mae']);
    const batches: { mse?: number; mae?: number; loss: number }[] = [];
    const history = await model.fit(X, TARGETS, {
      epochs: 3, batchSize: 8, seed: 1, validationData: [XV, TV],
      callbacks: { onBatchEnd: (_, logs) => { batches.push({ ...logs }); } },
    });
    const h = history.history;
    // With the loss mean squared error, the mse metric is the loss, batch by batch and epoch by epoch.
    for (const b of batches) expect(b.mse).toBeCloseTo(b.loss, 6);
    h.loss.forEach((loss, e) => expect(h.mse![e]).toBeCloseTo(loss, 6));
    h.val_loss!.forEach((loss, e) => expect(h.val_mse![e]).toBeCloseTo(loss, 6));
    expect(h.mae).toHaveLength(3);
    expect(h.val_mae).toHaveLength(3);
    expect(batches.every((b) => typeof b.mae === 'number' && b.mae > 0)).toBe(true);
    // The last validation figures are those of the model as fit left it.
    const expected = errors(model, XV, TV);
    expect(h.val_mae!.at(-1)).toBeCloseTo(expected.mae, 5);
    expect(h.val_mse!.at(-1)).toBeCloseTo(expected.mse, 5);
    const result = model.evaluate(XV, TV);
    expect(Object.keys(result).sort()).toEqual(['loss', 'mae', 'mse']);
    expect(result.mae).toBeCloseTo(expected.mae, 5);
    expect(result.mse).toBeCloseTo(expected.mse, 5);
    expect(result.mse).toBeCloseTo(result.loss, 6);
    model.dispose();
  });

  it('the long names, acc beside mse on a classifier, and a file that keeps them', async () => {
    const model = await sequential({
      layers: [dense({ units: 4, activation: 'relu', inputShape: [3] }), dense({ units: 3, activation: 'softmax' })],
      backend,
      seed: 2,
    });
    model.compile({ loss: 'categoricalCrossentropy', metrics: ['acc', 'meanSquaredError', 'meanAbsoluteError'] });
    const labels = X.map((_, i) => i % 3);
    const history = await model.fit(X, labels, { epochs: 2, batchSize: 8, validationSplit: 0.25 });
    expect(Object.keys(history.history).sort()).toEqual(['acc', 'loss', 'lr', 'mae', 'mse', 'val_acc', 'val_loss', 'val_mae', 'val_mse']);
    const oneHot = labels.map((k) => [0, 1, 2].map((j) => (j === k ? 1 : 0)));
    const result = model.evaluate(X, labels);
    expect(result.mse).toBeCloseTo(errors(model, X, oneHot).mse, 5);
    expect(result.acc).toBeGreaterThanOrEqual(0);
    model.dispose();
  });
});

describe('monitors of the new metrics', () => {
  it('early stopping and checkpoints watch mse and val_mae; an uncompiled metric is refused by name', async () => {
    const model = await regression('js', ['mse', 'mae']);
    const saved: number[] = [];
    const history = await model.fit(X, TARGETS, {
      epochs: 4, batchSize: 8, seed: 1, validationData: [XV, TV],
      earlyStopping: { monitor: 'mse', patience: 10 },
      checkpoint: { saveBestOnly: true, monitor: 'val_mae', onSave: (_, { epoch }) => { saved.push(epoch); } },
    });
    expect(history.epoch).toEqual([0, 1, 2, 3]);
    expect(saved[0]).toBe(0);
    const plain = await regression('js', []);
    await expect(plain.fit(X, TARGETS, { earlyStopping: { monitor: 'mae' } })).rejects.toThrow(/monitor 'mae' needs the metric: compile with metrics: \['mae'\]/);
    await expect(plain.fit(X, TARGETS, { earlyStopping: { monitor: 'val_acc' }, validationSplit: 0.25 })).rejects.toThrow(/compile with metrics: \['accuracy'\]/);
    model.dispose();
    plain.dispose();
  });
});

describe('fit verbose', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('0 prints nothing (the default); 1 and 2 print a line per epoch; other values and unknown keys are refused', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const model = await regression('js', ['mse']);
    await model.fit(X, TARGETS, { epochs: 2, batchSize: 8 });
    await model.fit(X, TARGETS, { epochs: 2, batchSize: 8, verbose: 0 });
    expect(log).not.toHaveBeenCalled();
    await model.fit(X, TARGETS, { epochs: 2, batchSize: 8, verbose: 1, validationSplit: 0.25 });
    expect(log).toHaveBeenCalledTimes(2);
    expect(log.mock.calls[0][0])
      .toMatch(/^Epoch 1\/2 - \d+\.\d\ds - loss: \d+\.\d{4} - mse: \d+\.\d{4} - val_loss: \d+\.\d{4} - val_mse: \d+\.\d{4} - lr: 0\.01000$/);
    expect(log.mock.calls[1][0]).toMatch(/^Epoch 2\/2 /);
    await model.fit(X, TARGETS, { epochs: 1, verbose: 2 });
    expect(log).toHaveBeenCalledTimes(3);
    for (const verbose of [3, true, '1']) {
      await expect(model.fit(X, TARGETS, { verbose } as object)).rejects.toThrow(/verbose must be 0 \(silent\), 1 or 2/);
    }
    const refused = await model.fit(X, TARGETS, { verbosity: 1 } as object).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SimdnetError);
    expect((refused as SimdnetError).message).toMatch(/has no option "verbosity"/);
    model.dispose();
  });
});
