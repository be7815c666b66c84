/**
 * Backend memory holds at most 4 GiB (wasm32; the js backend keeps the same limit). The memory
 * plan is computed before anything is allocated, and a model or a call that would not fit is
 * refused with a SimdnetError stating the bytes needed against the limit, leaving the model (and
 * every other model) usable. Memory above 2 GiB is addressed correctly (pointers are unsigned).
 *
 * The per-call cases fill the backend's memory with a block of its own first (backend.alloc): the
 * engines reserve such memory lazily, so this costs little real memory or time.
 */
import { describe, expect, it } from 'vitest';
import { activation, batchNormalization, dense, dropout, sequential, SimdnetError, type Sequential } from '../src/index.js';
import { allocateBatch, allocateModel, allocBytes, batchBytes, layoutParams, modelBytes } from '../src/plan.js';
import { resolveLayers } from '../src/layers.js';
import { BACKEND_NAMES } from './backends.js';

const GiB = 2 ** 30;
const X = Array.from({ length: 40 }, (_, i) => [Math.sin(i), Math.cos(i), (i % 7) / 7]);
const Y = X.map((_, i) => i % 3);

async function small(backend: 'wasm' | 'js'): Promise<Sequential> {
  const model = await sequential({
    layers: [dense({ units: 16, activation: 'relu', inputShape: [3] }), dense({ units: 3, activation: 'softmax' })],
    backend,
    seed: 4,
  });
  model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam', metrics: ['accuracy'] });
  return model;
}

async function refusal(run: () => unknown): Promise<SimdnetError> {
  const error = await Promise.resolve().then(run).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(SimdnetError);
  return error as SimdnetError;
}

describe('the memory plan says what allocation takes', () => {
  it('modelBytes and batchBytes equal what allocateModel and allocateBatch take', async () => {
    const model = await small('js');
    const plain = resolveLayers('test', [dense({ units: 5, inputShape: [7] }), dense({ units: 9 }), dense({ units: 2 })]).specs;
    // Swish keeps Z beside A in training, dropout its dropped copy: both add batch buffers.
    const kept = resolveLayers('test', [
      dense({ units: 5, inputShape: [7], activation: 'swish' }), dropout({ rate: 0.5 }), dense({ units: 9 }), dropout({ rate: 0.1 }), dense({ units: 2 }),
    ]).specs;
    // Batch normalization: x̂ and 1/σ per normalised layer, and the normalised output after an activation.
    const normed = resolveLayers('test', [
      dense({ units: 5, inputShape: [7] }), batchNormalization(), activation({ activation: 'gelu' }), dropout({ rate: 0.5 }),
      dense({ units: 9, activation: 'tanh' }), batchNormalization({ center: false }), dense({ units: 2 }), batchNormalization({ scale: false }),
    ]).specs;
    const backend = model.backend;
    for (const specs of [plain, kept, normed]) {
      for (const rows of [1, 3, 64]) {
        for (const needs of [
          { gather: false, loss: false, backward: false }, { gather: true, loss: true, backward: true }, { gather: false, loss: true, backward: false },
        ]) {
          const before = backend.mark();
          allocateBatch(backend, specs, rows, needs);
          expect(backend.mark() - before).toBe(batchBytes(specs, rows, needs));
          backend.release(before);
        }
      }
      const before = backend.mark();
      allocateModel(backend, specs);
      expect(backend.mark() - before).toBe(modelBytes(specs));
      backend.release(before);
    }
    expect(batchBytes(kept, 8, { gather: false, loss: true, backward: true }))
      .toBeGreaterThan(batchBytes(plain, 8, { gather: false, loss: true, backward: true }));
    model.dispose();
  });

  it("fit's parts add up to what it allocates", async () => {
    const model = await small('wasm');
    const floats = layoutParams(resolveLayers('test', model.layers).specs).partFloats;
    const start = model.backend.mark();
    let used = 0;
    await model.fit(X, Y, {
      epochs: 1, batchSize: 8, validationData: [X.slice(0, 10), Y.slice(0, 10)], earlyStopping: { monitor: 'val_loss', restoreBestWeights: true },
      callbacks: { onBatchEnd: () => { used = model.backend.mark() - start; } },
    });
    const { specs } = resolveLayers('test', model.layers);
    const expected = allocBytes(40 * 3) + allocBytes(40 * 3) + allocBytes(40) + allocBytes(10 * 3) + allocBytes(10 * 3)
      + batchBytes(specs, 8, { gather: true, loss: true, backward: true }) + allocBytes(3 * floats) + allocBytes(floats);
    expect(used).toBe(expected);
    model.dispose();
  });
});

describe.each(BACKEND_NAMES)('on %s', (backend) => {
  it('a model beyond 4 GiB is refused by sequential() with the bytes it needs; other models carry on', async () => {
    const other = await small(backend);
    const before = other.predict(X).data;
    const wide = await refusal(() => sequential({
      layers: [dense({ units: 20000, activation: 'relu', inputShape: [4] }), dense({ units: 20000, activation: 'relu' }), dense({ units: 1 })],
      backend,
    }));
    expect(wide.argument).toBe('layers');
    expect(wide.message).toMatch(new RegExp(
      `^sequential\\(\\): needs 7\\.45 GiB \\(8,00\\d,\\d{3},\\d{3} bytes\\) of backend memory \\(for its weights, gradients and optimizer state .*\\) ` +
        `beside the .* already in use, more than the 4\\.00 GiB \\(4,294,967,296 bytes\\) the ${backend} backend can hold; use fewer or narrower layers$`,
    ));
    const huge = await refusal(() => sequential({ layers: [dense({ units: 1e9, inputShape: [4] })], backend }));
    expect(huge.message).toMatch(/needs 93\.13 GiB/);
    expect(other.predict(X).data).toEqual(before);
    await other.fit(X, Y, { epochs: 1 });
    other.dispose();
  });

  it('works above 2 GiB; refuses predict, evaluate and fit that would pass 4 GiB, and the model carries on', async () => {
    const model = await small(backend);
    const mem = model.backend;
    const out = model.predict(X).data;
    const evaluation = model.evaluate(X, Y);
    const base = mem.mark();
    // Memory in use past 2 GiB: every buffer of the calls below lies above it.
    mem.alloc((2.25 * GiB) / 4);
    expect(model.predict(X).data).toEqual(out);
    expect(model.evaluate(X, Y)).toEqual(evaluation);
    await model.fit(X, Y, { epochs: 2, batchSize: 8, seed: 1 });
    const trained = model.getWeights();
    // Now fill it to within 256 bytes of the limit.
    mem.alloc((mem.maxBytes - mem.mark() - 256) / 4);
    const p = await refusal(() => model.predict(X));
    expect(p.argument).toBe('batchSize'); // the batch buffers are the larger part here
    expect(p.message).toMatch(new RegExp(
      '^predict\\(\\): needs .* of backend memory \\(for the rows of x .*, for the batch buffers .*\\) beside the 4\\.00 GiB .* already in use, ' +
        'more than the 4\\.00 GiB \\(4,294,967,296 bytes\\) the \\w+ backend can hold; pass fewer rows per call',
    ));
    expect((await refusal(() => model.evaluate(X, Y))).message).toMatch(/^evaluate\(\): needs .*for the rows of x and y/);
    const f = await refusal(() => model.fit(X, Y, { epochs: 1 }));
    expect(f.message).toMatch(/^fit\(\): needs .*for the rows of x and y and their order .*non-finite guard's copy.* more than the 4\.00 GiB/);
    expect(model.getWeights()).toEqual(trained);
    mem.release(base);
    expect(model.evaluate(X, Y).loss).toBeLessThan(evaluation.loss);
    await model.fit(X, Y, { epochs: 1 });
    model.dispose();
  });
});
