/**
 * Dropout and activation layers: the counter-based mask (its statistics, the same bits on both
 * backends and for any split of a block), backprop through it against finite differences of the
 * float64 reference with the same mask, inactive in predict and evaluate, reproducible runs and
 * exact resumption after load, and TensorFlow.js export and import.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { activation, dense, dropout, fromTfjs, loadModel, moons, sequential, type Backend, type DenseLayer } from '../src/index.js';
import { BACKEND_NAMES, BOTH_BACKENDS, makeBackend, read, scoped, upload } from './backends.js';
import { expectClose } from './assert.js';
import { mulberry32, uniform } from './prng.js';
import * as ref from './reference.js';

/** The mask of (rate, seed, step, layer) over n elements from `first`, as 0 or 1/(1 − rate). */
function mask(b: Backend, n: number, first: number, rate: number, seed: number, step: number, layer: number): Float32Array {
  return scoped(b, () => {
    const p = upload(b, new Float32Array(n).fill(1));
    b.dropout(p, p, n, first, rate, seed, step, layer);
    return read(b, p, n);
  });
}

describe.each(BACKEND_NAMES)('the dropout kernel on %s', (name) => {
  let b: Backend;
  beforeAll(async () => { b = await makeBackend(name); });

  it.each([0, 0.1, 0.5, 0.9])('rate %f: about that fraction zeroed, the rest scaled by 1/(1 − rate)', (rate) => {
    const n = 40_000;
    const m = mask(b, n, 0, rate, 7, 3, 1);
    const scale = Math.fround(1 / (1 - rate));
    const dropped = m.filter((v) => v === 0).length;
    expect(m.every((v) => v === 0 || v === scale)).toBe(true);
    // Binomial: 4 standard deviations.
    expect(Math.abs(dropped / n - rate)).toBeLessThanOrEqual(4 * Math.sqrt((rate * (1 - rate)) / n) + 1e-9);
  });

  it('masks differ by step, layer and seed, and a block split in ranges gives the same mask', () => {
    const n = 1001;
    const base = mask(b, n, 0, 0.5, 1, 0, 0);
    for (const other of [mask(b, n, 0, 0.5, 1, 1, 0), mask(b, n, 0, 0.5, 1, 0, 1), mask(b, n, 0, 0.5, 2, 0, 0)]) {
      expect(other).not.toEqual(base);
    }
    const split = new Float32Array(n);
    for (const [from, to] of [[0, 333], [333, 334], [334, 1001]]) split.set(mask(b, to - from, from, 0.5, 1, 0, 0), from);
    expect(split).toEqual(base);
  });

  it('x·mask on values, in place or not; NaN in a dropped element gives 0', () => {
    const x = uniform(mulberry32(1), 37, -3, 3);
    x[0] = NaN;
    const m = mask(b, 37, 0, 0.3, 5, 2, 0);
    const got = scoped(b, () => {
      const px = upload(b, x), py = b.alloc(37);
      b.dropout(px, py, 37, 0, 0.3, 5, 2, 0);
      return read(b, py, 37);
    });
    got.forEach((v, i) => {
      if (m[i] === 0) expect(Object.is(v, 0)).toBe(true);
      else expect(v).toBe(Math.fround(x[i] * m[i]) || (Number.isNaN(x[i]) ? v : 0));
    });
  });
});

describe.runIf(BOTH_BACKENDS)('dropout masks: wasm and js draw the same bits', () => {
  it('for many seeds, steps and layers', async () => {
    const js = await makeBackend('js');
    const wasm = await makeBackend('wasm');
    for (const [seed, step, layer] of [[0, 0, 0], [-5, 17, 2], [2 ** 31 - 1, 123456, 9]]) {
      expect(mask(wasm, 103, 11, 0.37, seed, step, layer)).toEqual(mask(js, 103, 11, 0.37, seed, step, layer));
    }
  });
});

describe.each(BACKEND_NAMES)('dropout and activation layers in models (%s)', (backend) => {
  const { x, y } = moons(48, 7);

  it('backprop through dropout equals finite differences of the float64 forward pass with the same masks', async () => {
    const model = await sequential({
      layers: [dense({ units: 5, activation: 'tanh', inputShape: [2] }), dropout({ rate: 0.4 }), dense({ units: 4, activation: 'gelu' }),
        dropout({ rate: 0.25, seed: 99 }), dense({ units: 1, activation: 'sigmoid' })],
      backend, seed: 4,
    });
    try {
      model.compile({ loss: 'bce', optimizer: 'sgd' });
      const rows = 6;
      const xs = Array.from({ length: rows }, (_, r) => [x.data[2 * r], x.data[2 * r + 1]]);
      const ys = Array.from(y.subarray(0, rows), (v) => [v]);
      const be = model.backend;
      // Step 0: the masks the model draws for layers 0 and 1 (seed 4 | 0, and the layer's own 99).
      const masks = [mask(be, rows * 5, 0, 0.4, 4, 0, 0), mask(be, rows * 4, 0, 0.25, 99, 0, 1)];
      const weights = model.getWeights().map((w) => Array.from(w));
      const loss64 = (): number => {
        let a: ArrayLike<number> = xs.flat();
        const widths = [2, 5, 4, 1];
        const acts = ['tanh', 'gelu', 'sigmoid'] as const;
        let z: Float64Array = new Float64Array(0);
        for (let l = 0; l < 3; l++) {
          z = ref.biasAdd(ref.gemm(false, false, rows, widths[l + 1], widths[l], a, weights[2 * l]).c, weights[2 * l + 1], rows, widths[l + 1]);
          a = ref.activation(acts[l], z, rows, widths[l + 1]);
          if (l < 2) a = Float64Array.from(a, (v, i) => v * masks[l][i]);
        }
        return ref.bce(z, ys.flat(), rows, 1).loss;
      };
      const h = 1e-6;
      const want = weights.map((t) => t.map((_, i) => {
        const keep = t[i];
        t[i] = keep + h; const plus = loss64();
        t[i] = keep - h; const minus = loss64();
        t[i] = keep;
        return (plus - minus) / (2 * h);
      }));
      const { loss, grads } = model._computeGradients(xs, ys);
      expect(Math.abs(loss - loss64())).toBeLessThan(1e-5 * loss64() + 1e-6);
      const scale = Math.max(...want.flat().map(Math.abs));
      grads.forEach((g, t) => expectClose(g, want[t], want[t].map((w) => 1e-4 * Math.abs(w) + 1e-5 * scale), `tensor ${t}`));
    } finally {
      model.dispose();
    }
  });

  it('is inactive in predict and evaluate, and an activation layer equals the dense activation', async () => {
    const withDropout = await sequential({
      layers: [dense({ units: 8, inputShape: [2] }), activation({ activation: 'relu' }), dropout({ rate: 0.5 }), dense({ units: 1, activation: 'sigmoid' })],
      backend, seed: 3,
    });
    const plain = await sequential({ layers: [dense({ units: 8, activation: 'relu', inputShape: [2] }), dense({ units: 1, activation: 'sigmoid' })], backend, seed: 3 });
    try {
      plain.setWeights(withDropout.getWeights());
      expect(withDropout.predict(x).data).toEqual(plain.predict(x).data);
      withDropout.compile({ loss: 'bce' });
      plain.compile({ loss: 'bce' });
      expect(withDropout.evaluate(x, y)).toEqual(plain.evaluate(x, y));
    } finally {
      withDropout.dispose();
      plain.dispose();
    }
  });

  it('runs are reproducible and a model loaded mid-run resumes exactly', async () => {
    const make = () => sequential({
      layers: [dense({ units: 16, activation: 'relu', inputShape: [2] }), dropout({ rate: 0.3 }), dense({ units: 1, activation: 'sigmoid' })],
      backend, seed: 8,
    });
    const a = await make();
    const b = await make();
    a.compile({ loss: 'bce', optimizer: 'adam' });
    b.compile({ loss: 'bce', optimizer: 'adam' });
    const ha = await a.fit(x, y, { epochs: 4, batchSize: 8, seed: 2 });
    await b.fit(x, y, { epochs: 2, batchSize: 8, seed: 2 });
    const loaded = await loadModel(b.save(), { backend });
    expect(loaded.layers.map((l) => l.type)).toEqual(['dense', 'dropout', 'dense']);
    const rest = await loaded.fit(x, y, { epochs: 4, initialEpoch: 2, batchSize: 8, seed: 2 });
    expect(loaded.getWeights()).toEqual(a.getWeights());
    expect(rest.history.loss).toEqual(ha.history.loss.slice(2));
    for (const m of [a, b, loaded]) m.dispose();
  });

  it('misplaced layers are refused', async () => {
    await expect(sequential({ layers: [dense({ units: 2, inputShape: [2] }), dropout({ rate: 0.5 })], backend }))
      .rejects.toThrow(/a dropout layer, must come after a dense layer and before another one/);
    await expect(sequential({ layers: [dense({ units: 2, activation: 'relu', inputShape: [2] }), activation({ activation: 'tanh' })], backend }))
      .rejects.toThrow(/an activation layer, must follow a dense layer with a linear activation/);
    expect(() => dropout({ rate: 1 })).toThrow(/rate must be a number in \[0, 1\)/);
  });
});

describe.each(BACKEND_NAMES)('dropout and activation layers with TensorFlow.js (%s)', (backend) => {
  beforeAll(async () => {
    tf.env().set('IS_TEST', true);
    await tf.setBackend('cpu');
  });

  it('export: TF.js loads Dropout and Activation layers and predicts the same; import and round trip keep rate and seed', async () => {
    const model = await sequential({
      layers: [dense({ units: 6, inputShape: [3] }), activation({ activation: 'elu' }), dropout({ rate: 0.2, seed: 5 }), dense({ units: 4, activation: 'relu' }),
        dropout({ rate: 0.1 }), dense({ units: 2, activation: 'softmax' })],
      backend, seed: 1,
    });
    try {
      const { modelJson, weightsBin } = model.toTfjs();
      const classes = modelJson.modelTopology.config.layers.map((l) => l.class_name);
      expect(classes).toEqual(['Dense', 'Activation', 'Dropout', 'Dense', 'Dropout', 'Dense']);
      const tfModel = await tf.loadLayersModel(tf.io.fromMemory({
        modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest[0].weights, weightData: weightsBin.slice().buffer,
      }));
      const xs = { data: uniform(mulberry32(3), 30, -2, 2), shape: [10, 3] as [number, number] };
      const tfOut = (tfModel.predict(tf.tensor2d(xs.data, xs.shape)) as tf.Tensor).dataSync();
      expectClose(model.predict(xs).data, tfOut, { rtol: 1e-5, atol: 1e-6 }, 'simdnet vs tfjs with dropout layers');
      const back = await fromTfjs(modelJson, weightsBin, { backend });
      expect(back.layers.map((l) => l.type)).toEqual(['dense', 'dropout', 'dense', 'dropout', 'dense']);
      expect(back.layers.filter((l) => l.type === 'dropout')).toEqual([{ type: 'dropout', rate: 0.2, seed: 5 }, { type: 'dropout', rate: 0.1 }]);
      expect((back.layers[0] as DenseLayer).activation).toBe('elu');
      expect(back.predict(xs).data).toEqual(model.predict(xs).data);
      back.dispose();
      tfModel.dispose();
    } finally {
      model.dispose();
    }
  });
});
