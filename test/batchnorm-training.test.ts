/**
 * Training with batchNormalization layers: the model file carries γ, β, their optimizer state and
 * the moving statistics, so a model saved mid-run resumes exactly; the non-finite guard's rollback
 * and replay and early stopping's restore keep the moving statistics with the weights they came
 * with; the same bits on 1 and 2 threads.
 */
import { describe, expect, it } from 'vitest';
import {
  activation, batchNormalization, dense, dropout, loadModel, moons, NonFiniteError, sequential, type LayerConfig, type Sequential,
} from '../src/index.js';
import { BACKEND_NAMES } from './backends.js';
import { mulberry32, uniform } from './prng.js';
import { fitUntilDiverged } from './support/diverge.js';

const LAYERS = (): LayerConfig[] => [
  dense({ units: 12, inputShape: [2] }), batchNormalization({ momentum: 0.9 }), activation({ activation: 'relu' }), dropout({ rate: 0.2 }),
  dense({ units: 8, activation: 'tanh' }), batchNormalization({ momentum: 0.8, center: false }),
  dense({ units: 1, activation: 'sigmoid' }),
];

describe.each(BACKEND_NAMES)('training with batch normalization on %s', (backend) => {
  const { x, y } = moons(64, 3);

  it('save and load keep every bit, the optimizer state of γ and β included; a model loaded mid-run resumes exactly', async () => {
    const make = async (): Promise<Sequential> => {
      const model = await sequential({ layers: LAYERS(), backend, seed: 8 });
      model.compile({ loss: 'bce', optimizer: 'adam' });
      return model;
    };
    const [a, b] = [await make(), await make()];
    const ha = await a.fit(x, y, { epochs: 4, batchSize: 16, seed: 2 });
    await b.fit(x, y, { epochs: 2, batchSize: 16, seed: 2 });
    const bytes = b.save();
    const loaded = await loadModel(bytes, { backend });
    expect(loaded.layers).toEqual(b.layers);
    expect(loaded.getWeights()).toEqual(b.getWeights());
    expect(loaded.save()).toEqual(bytes);
    expect(loaded.predict(x).data).toEqual(b.predict(x).data);
    const rest = await loaded.fit(x, y, { epochs: 4, initialEpoch: 2, batchSize: 16, seed: 2 });
    expect(loaded.getWeights()).toEqual(a.getWeights());
    expect(rest.history.loss).toEqual(ha.history.loss.slice(2));
    // Without the optimizer: the same weights and moving statistics, fresh Adam state.
    const light = await loadModel(b.save({ includeOptimizer: false }), { backend });
    expect(light.getWeights()).toEqual(b.getWeights());
    for (const m of [a, b, loaded, light]) m.dispose();
  });

  it.each([[10, 'weights'], [30, 'loss']] as const)(
    'the non-finite guard keeps the moving statistics of the weights it keeps, with and without batch callbacks (learning rate ×%i every 4 steps)',
    async (rate, quantity) => {
      // A learning rate that grows tenfold or more every 4 steps: training diverges after some dozens of steps.
      const make = async (): Promise<Sequential> => {
        const model = await sequential({
          layers: [dense({ units: 6, inputShape: [2] }), batchNormalization({ momentum: 0.5 }), activation({ activation: 'relu' }), dense({ units: 1, activation: 'sigmoid' })],
          backend, seed: 1,
        });
        model.compile({ loss: 'bce', optimizer: { type: 'sgd', learningRate: { type: 'exponentialDecay', initialLearningRate: 0.1, decaySteps: 4, decayRate: rate } } });
        return model;
      };
      const model = await make();
      const { error, previous, last, steps } = await fitUntilDiverged(model, x, y);
      expect(error).toBeInstanceOf(NonFiniteError);
      const e = error as NonFiniteError;
      expect(e.quantity).toBe(quantity);
      expect(8 * e.epoch + e.batch).toBe(steps);
      expect(steps).toBeGreaterThan(16);
      const kept = quantity === 'loss' ? previous : last;
      expect(model.getWeights()).toEqual(kept);
      // Checked only every 16 steps, the guard puts back its last save and replays the steps since:
      // the moving statistics must come back and move again as they did, so the twin ends with the same bits.
      const twin = await make();
      const twinError = await twin.fit(x, y, { epochs: 50, batchSize: 8, seed: 1 }).then(() => undefined, (err: unknown) => err);
      expect([(twinError as NonFiniteError).epoch, (twinError as NonFiniteError).batch]).toEqual([e.epoch, e.batch]);
      expect(twin.getWeights()).toEqual(kept);
      model.dispose();
      twin.dispose();
    },
  );

  it('early stopping restores the best epoch\'s moving statistics with its weights', async () => {
    const model = await sequential({ layers: LAYERS(), backend, seed: 4 });
    model.compile({ loss: 'bce', optimizer: { type: 'adam', learningRate: 0.05 } });
    const byEpoch: Float32Array[][] = [];
    const { history } = await model.fit(x, y, {
      epochs: 8, batchSize: 16, seed: 1, validationSplit: 0.25,
      earlyStopping: { monitor: 'val_loss', patience: 8, restoreBestWeights: true },
      callbacks: { onEpochEnd: () => { byEpoch.push(model.getWeights()); } },
    });
    const losses = history.val_loss ?? [];
    const best = losses.indexOf(Math.min(...losses));
    expect(model.getWeights()).toEqual(byEpoch[best]);
    model.dispose();
  });
});

describe.runIf(BACKEND_NAMES.includes('wasm'))('batch normalization on threads', () => {
  it('a fit gives the same bits on 1 and 2 threads (GEMMs and activations in parts, the normalization on the calling thread)', async () => {
    const rows = 512;
    const data = uniform(mulberry32(2), rows * 256, 0, 1);
    const labels = Array.from({ length: rows }, (_, i) => (i * 7) % 10);
    const run = async (threads: number) => {
      const model = await sequential({
        threads, seed: 3,
        layers: [
          dense({ units: 128, inputShape: [256] }), batchNormalization(), activation({ activation: 'relu' }),
          dense({ units: 64, activation: 'gelu' }), batchNormalization(), dropout({ rate: 0.1 }),
          dense({ units: 10, activation: 'softmax' }),
        ],
      });
      expect(model.threads).toBe(threads);
      model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam' });
      const { history } = await model.fit({ data, shape: [rows, 256] }, labels, { epochs: 2, batchSize: 128, seed: 1, validationSplit: 0.25 });
      const result = { history, weights: model.getWeights(), predict: model.predict({ data, shape: [rows, 256] }).data };
      model.dispose();
      return result;
    };
    const one = await run(1);
    expect(await run(2)).toEqual(one);
  });
});

describe('model files with batch normalization trust nothing', () => {
  it('a negative moving variance, or bytes cut short, is refused naming the bytes', async () => {
    const model = await sequential({ layers: LAYERS(), backend: 'js', seed: 1 });
    model.compile({ loss: 'bce', optimizer: 'adam' });
    const bytes = model.save();
    // The first layer's moving variance: after W (24), b (12), γ (12), β (12) and the moving mean (12).
    const floatsAt = bytes.length - 4 * (model.countParams() + 2 * (model.countParams() - 2 * (12 + 8)));
    const bad = bytes.slice();
    new DataView(bad.buffer).setFloat32(floatsAt + 4 * (24 + 12 + 12 + 12 + 12 + 3), -1, true);
    await expect(loadModel(bad)).rejects.toThrow(/weight 75 \(the moving variance of layer 1's batch normalization\) is -1, but a variance cannot be negative/);
    await expect(loadModel(bytes.slice(0, bytes.length - 4))).rejects.toThrow(/where the header implies \d+ \(truncated\)/);
    model.dispose();
  });
});
