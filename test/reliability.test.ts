/**
 * Training that does not lose work: checkpoints during fit, early stopping with best weights, the
 * non-finite guard, and memory that stays flat over thousands of steps and many models.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  dense, loadModel, moons, NonFiniteError, sequential, SimdnetError, type Logs, type Sequential,
} from '../src/index.js';
import { BACKEND_NAMES } from './backends.js';
import { mulberry32 } from './prng.js';
import { fitUntilDiverged } from './support/diverge.js';

const { x: X, y: Y } = moons(120, 7);
const FLIPPED = Y.map((v) => 1 - v);

async function classifier(backend: 'js' | 'wasm', learningRate = 0.05): Promise<Sequential> {
  const model = await sequential({
    layers: [dense({ units: 12, activation: 'tanh', inputShape: [2] }), dense({ units: 1, activation: 'sigmoid' })],
    backend,
    seed: 3,
  });
  model.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'adam', learningRate }, metrics: ['accuracy'] });
  return model;
}

async function using<T>(model: Sequential, body: (m: Sequential) => Promise<T>): Promise<T> {
  try {
    return await body(model);
  } finally {
    model.dispose();
  }
}

/** Keras' rule, written out independently: the epoch at which patience runs out, or undefined. */
function expectedStop(values: number[], patience: number, minDelta: number, higherIsBetter = false): number | undefined {
  let best = higherIsBetter ? -Infinity : Infinity;
  let wait = 0;
  for (let e = 0; e < values.length; e++) {
    const improved = higherIsBetter ? values[e] - minDelta > best : values[e] + minDelta < best;
    if (improved) {
      best = values[e];
      wait = 0;
    } else if (++wait >= Math.max(patience, 1)) {
      return e;
    }
  }
  return undefined;
}

const F32_MAX = 3.4028234663852886e38;

function pick(e: NonFiniteError): { epoch: number; batch: number; quantity: string } {
  return { epoch: e.epoch, batch: e.batch, quantity: e.quantity };
}

function argBest(values: number[]): number {
  return values.reduce((best, v, i) => (v < values[best] ? i : best), 0);
}

describe.each(BACKEND_NAMES)('checkpoints on %s', (backend) => {
  it('every N epochs: loadable bytes of the model as it was at that epoch', async () => {
    await using(await classifier(backend), async (model) => {
      const predictions = new Map<number, Float32Array>();
      const saves: { epoch: number; bytes: Uint8Array; logs: Logs }[] = [];
      await model.fit(X, Y, {
        epochs: 7,
        batchSize: 16,
        seed: 1,
        callbacks: { onEpochEnd: (epoch) => void predictions.set(epoch, model.predict(X).data) },
        checkpoint: { everyEpochs: 3, onSave: (bytes, info) => void saves.push({ bytes, ...info }) },
      });
      expect(saves.map((s) => s.epoch)).toEqual([2, 5]);
      for (const { epoch, bytes } of saves) {
        const restored = await loadModel(bytes, { backend });
        expect(restored.predict(X).data).toEqual(predictions.get(epoch));
        restored.dispose();
      }
    });
  });

  it('saveBestOnly: exactly at each new best val_loss; several rules at once; async onSave awaited', async () => {
    await using(await classifier(backend, 0.2), async (model) => {
      const best: number[] = [];
      const periodic: number[] = [];
      const order: string[] = [];
      const { history } = await model.fit(X, Y, {
        epochs: 12,
        batchSize: 8,
        seed: 2,
        validationData: [X, FLIPPED],
        callbacks: { onEpochEnd: (epoch) => void order.push(`epoch ${epoch}`) },
        checkpoint: [
          { saveBestOnly: true, monitor: 'val_loss', onSave: (_, { epoch }) => void best.push(epoch) },
          {
            everyEpochs: 4,
            includeOptimizer: false,
            onSave: async (_, { epoch }) => {
              await new Promise((resolve) => setTimeout(resolve, 2));
              periodic.push(epoch);
              order.push(`saved ${epoch}`);
            },
          },
        ],
      });
      const val = history.val_loss!;
      const newBests = val.map((_, e) => e).filter((e) => val.slice(0, e).every((p) => val[e] < p));
      expect(best).toEqual(newBests);
      expect(periodic).toEqual([3, 7, 11]);
      expect(order.indexOf('saved 3')).toBe(order.indexOf('epoch 3') + 1); // finished before epoch 4 began
    });
  });
});

describe.each(BACKEND_NAMES)('early stopping on %s', (backend) => {
  it('stops when val_loss has not improved for `patience` epochs and restores the best weights', async () => {
    await using(await classifier(backend, 0.1), async (model) => {
      const weights: Float32Array[][] = [];
      // Validation labels are the opposite of the training labels: as the model learns, val_loss rises.
      const { history, epoch } = await model.fit(X, Y, {
        epochs: 40,
        batchSize: 16,
        seed: 3,
        validationData: [X, FLIPPED],
        callbacks: { onEpochEnd: () => void weights.push(model.getWeights()) },
        earlyStopping: { monitor: 'val_loss', patience: 3, restoreBestWeights: true },
      });
      const stop = expectedStop(history.val_loss!, 3, 0);
      expect(stop).toBeDefined();
      expect(epoch.at(-1)).toBe(stop);
      expect(model.getWeights()).toEqual(weights[argBest(history.val_loss!)]);
    });
  });

  it('minDelta, monitors of accuracy, and restoring at the end even without stopping', async () => {
    await using(await classifier(backend), async (model) => {
      const { epoch } = await model.fit(X, Y, { epochs: 10, seed: 1, earlyStopping: { monitor: 'loss', minDelta: 10 } });
      expect(epoch).toEqual([0, 1]); // nothing improves by 10 after the first epoch
      const accs: number[] = [];
      const weights: Float32Array[][] = [];
      const run = await model.fit(X, Y, {
        epochs: 6,
        seed: 2,
        validationSplit: 0.25,
        callbacks: { onEpochEnd: (_, logs) => { accs.push(logs.val_acc!); weights.push(model.getWeights()); } },
        earlyStopping: { monitor: 'val_acc', patience: 100, restoreBestWeights: true },
      });
      expect(run.epoch).toHaveLength(6);
      const bestEpoch = accs.reduce((b, v, i) => (v > accs[b] ? i : b), 0);
      expect(model.getWeights()).toEqual(weights[bestEpoch]);
    });
  });

  it('refuses monitors this fit does not log, before training', async () => {
    await using(await classifier(backend), async (model) => {
      const before = model.getWeights();
      await expect(model.fit(X, Y, { earlyStopping: { monitor: 'val_loss' } })).rejects.toThrow(/'val_loss' needs validation data/);
      await expect(model.fit(X, Y, { earlyStopping: { patience: -1 }, validationSplit: 0.2 })).rejects.toThrow(/patience must be an integer ≥ 0/);
      await expect(model.fit(X, Y, { earlyStopping: { monitor: 'f1' as 'loss' } })).rejects.toThrow(/monitor must be one of/);
      await expect(model.fit(X, Y, { checkpoint: { onSave: 1 as unknown as () => void } })).rejects.toThrow(/checkpoint\.onSave/);
      await expect(model.fit(X, Y, { checkpoint: { saveBestOnly: true, onSave: () => {} } })).rejects.toThrow(/'val_loss' needs validation/);
      await expect(model.fit(X, Y, { epochs: 3, initialEpoch: 3 })).rejects.toThrow(/initialEpoch/);
      expect(model.getWeights()).toEqual(before);
      model.compile({ loss: 'binaryCrossentropy' });
      await expect(model.fit(X, Y, { earlyStopping: { monitor: 'acc' } })).rejects.toThrow(/compile with metrics/);
    });
  });
});

describe.each(BACKEND_NAMES)('non-finite guard on %s', (backend) => {
  it('a diverging run stops with the epoch and batch, keeping its last finite weights', async () => {
    // Unscaled inputs and a large learning rate: linear regression that explodes within a few steps.
    const rand = mulberry32(5);
    const x = Array.from({ length: 64 }, () => [200 * rand(), 500 * rand()]);
    const y = x.map(([a, b]) => [3 * a - b]);
    const model = await sequential({ layers: [dense({ units: 1, inputShape: [2] })], backend, seed: 1 });
    await using(model, async () => {
      model.compile({ loss: 'meanSquaredError', optimizer: { type: 'sgd', learningRate: 0.5 } });
      const { error, previous, last, steps } = await fitUntilDiverged(model, x, y);
      expect(error).toBeInstanceOf(NonFiniteError);
      expect(error).toBeInstanceOf(SimdnetError);
      const e = error as NonFiniteError;
      expect(8 * e.epoch + e.batch).toBe(steps); // the step right after the last one that completed
      expect(e.message).toMatch(new RegExp(`in epoch ${e.epoch}, batch ${e.batch}`));
      expect(e.message).toMatch(/learning rate too high.*not scaled/);
      // After a non-finite loss, the update that made those weights is undone too.
      const kept = e.quantity === 'loss' ? previous : last;
      if (e.quantity === 'loss') expect(e.message).toMatch(/undid the update before that batch/);
      expect(model.getWeights()).toEqual(kept);
      expect(kept.every((w) => w.every(Number.isFinite))).toBe(true);
      // Without batch callbacks the guard checks only every few steps and replays to find the step:
      // the same error, the same weights.
      const twin = await sequential({ layers: [dense({ units: 1, inputShape: [2] })], backend, seed: 1 });
      twin.compile({ loss: 'meanSquaredError', optimizer: { type: 'sgd', learningRate: 0.5 } });
      const twinError = await twin.fit(x, y, { epochs: 50, batchSize: 8, seed: 1 }).then(() => undefined, (e: unknown) => e);
      expect(twinError).toBeInstanceOf(NonFiniteError);
      expect(pick(twinError as NonFiniteError)).toEqual(pick(e));
      expect(twin.getWeights()).toEqual(kept);
      twin.dispose();
      // The model is usable again: a sane learning rate trains on.
      model.setWeights([[0, 0], [0]]);
      model.compile({ loss: 'meanSquaredError', optimizer: { type: 'sgd', learningRate: 1e-7 } });
      await model.fit(x, y, { epochs: 1 });
    });
  });

  it('after a non-finite loss the kept weights predict finite values (MSE, learning rate 1e20)', async () => {
    const rand = mulberry32(12);
    const x = Array.from({ length: 64 }, () => [rand(), rand(), rand()]);
    const y = x.map(([a, b, c]) => [a + 2 * b - c]);
    for (const optimizer of [{ type: 'sgd', learningRate: 1e20 }, { type: 'momentum', learningRate: 1e20 }] as const) {
      const model = await sequential({
        layers: [dense({ units: 8, activation: 'relu', inputShape: [3] }), dense({ units: 1 })], backend, seed: 2,
      });
      await using(model, async () => {
        model.compile({ loss: 'meanSquaredError', optimizer });
        const error = await model.fit(x, y, { epochs: 3, batchSize: 16, seed: 1 }).then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(NonFiniteError);
        expect(model.getWeights().every((w) => w.every(Number.isFinite))).toBe(true);
        const out = model.predict(x).data;
        expect(out.every(Number.isFinite), `${optimizer.type}: predictions ${out.slice(0, 4).join(', ')}`).toBe(true);
        expect(Number.isFinite(model.evaluate(x, y).loss)).toBe(true);
        // It trains on from there with a sane learning rate.
        model.compile({ loss: 'meanSquaredError', optimizer: { type: 'sgd', learningRate: 1e-3 } });
        expect((await model.fit(x, y, { epochs: 1 })).history.loss.every(Number.isFinite)).toBe(true);
      });
    }
  });

  it('a non-finite loss with the weights fit started with (or a callback set) undoes nothing', async () => {
    const model = await sequential({ layers: [dense({ units: 1, inputShape: [1] })], backend, seed: 1 });
    await using(model, async () => {
      model.compile({ loss: 'meanSquaredError', optimizer: 'sgd' });
      model.setWeights([[1e30], [0]]);
      const error = await model.fit([[1e10], [1]], [0, 0], { epochs: 1, batchSize: 1, shuffle: false }).then(() => undefined, (e: unknown) => e);
      expect(pick(error as NonFiniteError)).toEqual({ epoch: 0, batch: 0, quantity: 'loss' });
      expect((error as Error).message).toMatch(/these are the weights fit started with \(or a callback set\), so the model keeps them/);
      expect(model.getWeights()).toEqual([new Float32Array([1e30]), new Float32Array([0])]);
    });
  });

  it('a non-finite loss at the first batch of an epoch undoes the last update of the epoch before', async () => {
    // One row per batch; the last row of epoch 0 pushes the weight to ~1e20, whose output on row 0 (1e30) overflows.
    const model = await sequential({ layers: [dense({ units: 1, inputShape: [1] })], backend, seed: 1 });
    await using(model, async () => {
      model.compile({ loss: 'meanSquaredError', optimizer: { type: 'sgd', learningRate: 1e18 } });
      model.setWeights([[0], [0]]);
      const seen: Float32Array[][] = [];
      const error = await model.fit([[1e30], [0], [1]], [0, 0, 50], {
        epochs: 2, batchSize: 1, shuffle: false, callbacks: { onBatchEnd: () => { seen.push(model.getWeights()); } },
      }).then(() => undefined, (e: unknown) => e);
      expect(pick(error as NonFiniteError)).toEqual({ epoch: 1, batch: 0, quantity: 'loss' });
      expect(seen).toHaveLength(3);
      expect(model.getWeights()).toEqual(seen[1]); // before the update of epoch 0's last batch
    });
  });

  it('a gradient that overflows while the loss is finite is caught too', async () => {
    const model = await sequential({ layers: [dense({ units: 1, inputShape: [1] })], backend, seed: 1 });
    await using(model, async () => {
      model.compile({ loss: 'meanSquaredError', optimizer: 'sgd' });
      model.setWeights([[2e-38], [0]]);
      // z = 3e38 · 2e-38 = 6 and the loss ≈ 1e12 are finite; dW = x · dz ≈ 3e38 · 2e6 is not.
      const error = await model.fit([[3e38]], [1e6], { epochs: 1 }).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(NonFiniteError);
      expect((error as NonFiniteError).quantity).toBe('gradients');
      expect((error as Error).message).toMatch(/a gradient became NaN or infinite .* in epoch 0, batch 0/);
      expect(model.getWeights()).toEqual([new Float32Array([2e-38]), new Float32Array([0])]);
    });
  });

  // Logistic regression on tiny inputs, except rows 40 and 41 (batch 20 at batchSize 2: past the
  // guard's first save interval, mid-epoch): ±1e30 labelled 0. At whichever of the two has z > 0,
  // dz = 1/2, so dW ≈ 5e29: finite, as is the loss (≈ |z|), but far more than the update can absorb.
  const rand = mulberry32(9);
  const TINY_X = Array.from({ length: 48 }, (_, i) => (i === 40 ? [1e30] : i === 41 ? [-1e30] : [1e-9 * (rand() - 0.5)]));
  const TINY_Y = TINY_X.map((_, i) => (i === 40 || i === 41 ? 0 : rand() < 0.5 ? 0 : 1));
  const FAILING = [40, 41];

  /** dW and db of the failing batch at weights w, b, in float64 (bce on sigmoid, dz = (σ(z) − y)/m). */
  function failingGradient(w: number, b: number): [number, number] {
    let dw = 0;
    let db = 0;
    for (const i of FAILING) {
      const z = TINY_X[i][0] * w + b;
      const dz = (1 / (1 + Math.exp(-z)) - TINY_Y[i]) / FAILING.length;
      dw += TINY_X[i][0] * dz;
      db += dz;
    }
    return [dw, db];
  }

  it.each([
    // sgd: w − lr·dW ≈ 5e38 overflows the weight itself.
    { optimizer: { type: 'sgd', learningRate: 1e9 } as const, overflows: (w: number, dw: number) => Math.abs(w - 1e9 * dw) > F32_MAX },
    // Adam: the weight's step stays near lr, but v = (1 − β2)·dW² ≈ 2.5e56 overflows the optimizer's state.
    { optimizer: { type: 'adam', learningRate: 0.01 } as const, overflows: (_: number, dw: number) => 0.001 * dw * dw > F32_MAX },
  ])('finite gradients whose $optimizer.type update overflows: stopped at that step, weights and state kept', async ({ optimizer, overflows }) => {
    const run = async (observe: boolean) => {
      const model = await sequential({ layers: [dense({ units: 1, activation: 'sigmoid', inputShape: [1] })], backend, seed: 4 });
      model.compile({ loss: 'binaryCrossentropy', optimizer });
      let seen: { weights: Float32Array[]; bytes: Uint8Array } | undefined;
      const callbacks = observe ? { onBatchEnd: () => void (seen = { weights: model.getWeights(), bytes: model.save() }) } : {};
      const error = await model.fit(TINY_X, TINY_Y, { epochs: 2, batchSize: 2, shuffle: false, callbacks }).then(() => undefined, (e: unknown) => e);
      const result = { error: error as NonFiniteError, weights: model.getWeights(), bytes: model.save(), seen };
      model.dispose();
      return result;
    };
    const observed = await run(true);
    const { error } = observed;
    expect(error).toBeInstanceOf(NonFiniteError);
    expect(pick(error)).toEqual({ epoch: 0, batch: 20, quantity: 'weights' });
    expect(error.message).toMatch(/update made a weight or the optimizer's state NaN or infinite .* in epoch 0, batch 20/);
    expect(error.message).toMatch(/learning rate too high.*not scaled/);
    // The weights, optimizer state and step are those after batch 19, as its callback saw them.
    expect(observed.weights).toEqual(observed.seen!.weights);
    expect(observed.bytes).toEqual(observed.seen!.bytes);
    expect(observed.weights.every((a) => a.every(Number.isFinite))).toBe(true);
    // Independently of the guard's own verdict: at those weights the failing batch's gradients are
    // finite and the update overflows float32.
    const [w, b] = observed.weights.map((a) => a[0]);
    const [dw, db] = failingGradient(w, b);
    expect(Number.isFinite(dw) && Number.isFinite(db) && Math.abs(dw) < F32_MAX).toBe(true);
    expect(overflows(w, dw)).toBe(true);
    // The saved model loads (loadModel refuses non-finite weights or state).
    const loaded = await loadModel(observed.bytes, { backend });
    expect(loaded.getWeights()).toEqual(observed.weights);
    loaded.dispose();
    // Without batch callbacks the guard saves and checks only every few steps: the replay finds the
    // same step and leaves the same bits.
    const unobserved = await run(false);
    expect(pick(unobserved.error)).toEqual(pick(error));
    expect(unobserved.weights).toEqual(observed.weights);
    expect(unobserved.bytes).toEqual(observed.bytes);
  });

  it('weights replaced by a callback during fit are what a later failure goes back to', async () => {
    const model = await sequential({ layers: [dense({ units: 1, activation: 'sigmoid', inputShape: [1] })], backend, seed: 4 });
    await using(model, async () => {
      model.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'sgd', learningRate: 1e9 } });
      let last: Float32Array[] = [];
      const onBatchEnd = (batch: number): void => {
        if (batch === 18) model.setWeights([[0.25], [-1]]);
        last = model.getWeights();
      };
      const error = await model.fit(TINY_X, TINY_Y, { batchSize: 2, shuffle: false, callbacks: { onBatchEnd } }).then(() => undefined, (e: unknown) => e);
      expect(pick(error as NonFiniteError)).toEqual({ epoch: 0, batch: 20, quantity: 'weights' });
      // After batch 19 trained on from the replaced weights (not from those of the last periodic save).
      expect(last[0][0]).not.toBe(0.25);
      expect(model.getWeights()).toEqual(last);
    });
  });
});

describe('memory stays flat', () => {
  it('wasm memory does not grow after the first epoch, over thousands of steps', async () => {
    const model = await classifier('wasm');
    await using(model, async () => {
      const backend = model.backend;
      const before = backend.mark();
      const seen: { bytes: number; top: number }[] = [];
      let steps = 0;
      await model.fit(X, Y, {
        epochs: 40,
        batchSize: 2, // 96 training rows: 48 steps per epoch
        seed: 1,
        validationSplit: 0.2,
        callbacks: {
          onBatchEnd: () => void steps++,
          onEpochEnd: () => void seen.push({ bytes: backend.f32.byteLength, top: backend.mark() }),
        },
        earlyStopping: { monitor: 'val_loss', patience: 1000, restoreBestWeights: true },
        checkpoint: { everyEpochs: 10, onSave: () => {} },
      });
      expect(steps).toBeGreaterThanOrEqual(1900);
      for (const s of seen) expect(s).toEqual(seen[0]);
      expect(backend.mark()).toBe(before);
      // predict, evaluate and save in a loop neither grow nor keep memory.
      const bytes = backend.f32.byteLength;
      for (let i = 0; i < 200; i++) {
        model.predict(X);
        model.evaluate(X, Y);
        model.save();
      }
      expect(backend.f32.byteLength).toBe(bytes);
      expect(backend.mark()).toBe(before);
    });
  });

  it('creating and disposing models repeatedly frees their memory', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const collect = async (): Promise<void> => {
      // WeakRefs clear only after the current job: let the event loop turn between collections.
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    await collect();
    const baseline = process.memoryUsage().external;
    const disposed: Sequential[] = []; // kept on purpose: dispose alone must let the memory go
    const backends: WeakRef<object>[] = [];
    for (let i = 0; i < 40; i++) {
      for (const backend of ['wasm', 'js'] as const) {
        // 512 × 512 + 512 × 10: about 270 k parameters, 4.3 MB of model memory each.
        const model = await sequential({ layers: [dense({ units: 512, activation: 'relu', inputShape: [512] }), dense({ units: 10 })], backend });
        model.compile({ loss: 'meanSquaredError' });
        model.predict([new Array(512).fill(0.1)]);
        backends.push(new WeakRef(model.backend));
        model.dispose();
        disposed.push(model);
      }
    }
    const alive = await sequential({ layers: [dense({ units: 4, inputShape: [2] })] });
    const aliveRef = new WeakRef(alive.backend);
    await collect();
    expect(backends.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    expect(aliveRef.deref()).toBeDefined(); // the check can tell: a live model's backend stays
    // 80 models' memory would be some 350 MB; what remains must be far less.
    expect(process.memoryUsage().external - baseline).toBeLessThan(48 << 20);
    alive.dispose();
    expect(disposed).toHaveLength(80);
  });
});
