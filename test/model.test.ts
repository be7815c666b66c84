/**
 * The model's life cycle: initialisation, predict and evaluate, weights in and out, save and
 * load, summary, dispose.
 */
import { describe, expect, it } from 'vitest';
import { dense, loadModel, moons, sequential, SimdnetError, type Sequential } from '../src/index.js';
import type { DenseLayer } from '../src/layers.js';
import { BACKEND_NAMES, BOTH_BACKENDS } from './backends.js';

const { x: MOONS_X, y: MOONS_Y } = moons(64, 1);

async function classifier(backend: 'js' | 'wasm', seed = 5): Promise<Sequential> {
  return sequential({
    layers: [
      dense({ units: 6, activation: 'relu', inputShape: [2] }),
      dense({ units: 5, activation: 'tanh' }),
      dense({ units: 3, activation: 'softmax' }),
    ],
    backend,
    seed,
  });
}

const CLASSES = Array.from(MOONS_Y, (v, i) => (v === 1 ? 1 + (i % 4 === 1 ? 1 : 0) : 0)); // three classes

describe.each(BACKEND_NAMES)('model on %s', (backend) => {
  it('initialisers: scale by rule, biases zero, seeded', async () => {
    const model = await sequential({
      layers: [
        dense({ units: 128, activation: 'relu', inputShape: [200] }),
        dense({ units: 64, activation: 'tanh' }),
        dense({ units: 10, activation: 'linear', kernelInitializer: 'smallRandom' }),
      ],
      backend,
      seed: 1,
    });
    try {
      const [w1, b1, w2, b2, w3] = model.getWeights();
      const std = (w: Float32Array) => Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
      // 25600 draws: the sample sd is within 2% of the target with overwhelming probability.
      expect(std(w1) / Math.sqrt(2 / 200)).toBeCloseTo(1, 1); // heNormal
      const limit = Math.sqrt(6 / (128 + 64)); // glorotUniform: U(±limit), sd limit/√3
      expect(Math.max(...w2.map(Math.abs))).toBeLessThanOrEqual(limit);
      expect(std(w2) / (limit / Math.sqrt(3))).toBeCloseTo(1, 1);
      expect(std(w3) / 0.01).toBeCloseTo(1, 1); // smallRandom: N(0, 1)·0.01
      expect([...b1, ...b2].every((v) => v === 0)).toBe(true);
      expect((model.layers as DenseLayer[]).map((l) => l.kernelInitializer)).toEqual(['heNormal', 'glorotUniform', 'smallRandom']);
      const again = await sequential({ layers: model.layers, backend, seed: 1 });
      const other = await sequential({ layers: model.layers, backend, seed: 2 });
      expect(again.getWeights()).toEqual(model.getWeights());
      expect(other.getWeights()[0]).not.toEqual(model.getWeights()[0]);
      again.dispose();
      other.dispose();
    } finally {
      model.dispose();
    }
  });

  it('describes itself: layers, units, countParams, summary', async () => {
    const model = await classifier(backend);
    try {
      expect(model.inputUnits).toBe(2);
      expect(model.outputUnits).toBe(3);
      expect((model.layers as DenseLayer[]).map((l) => [l.units, l.activation])).toEqual([[6, 'relu'], [5, 'tanh'], [3, 'softmax']]);
      expect(model.countParams()).toBe(2 * 6 + 6 + 6 * 5 + 5 + 5 * 3 + 3);
      expect(model.backend.name).toBe(backend);
      const summary = model.summary();
      expect(summary).toMatch(/dense_1.*\[batch, 6\].*18.*relu/);
      expect(summary).toMatch(/dense_3.*\[batch, 3\].*18.*softmax/);
      expect(summary).toMatch(/Total params: 71/);
    } finally {
      model.dispose();
    }
  });

  it('predict: one row of probabilities per input row, the same in any batch size or input form', async () => {
    const model = await classifier(backend);
    try {
      const out = model.predict(MOONS_X);
      expect(out.shape).toEqual([64, 3]);
      expect(out.data).toHaveLength(64 * 3);
      for (let r = 0; r < 64; r++) expect(out.data[3 * r] + out.data[3 * r + 1] + out.data[3 * r + 2]).toBeCloseTo(1, 6);
      const nested = Array.from({ length: 64 }, (_, r) => [MOONS_X.data[2 * r], MOONS_X.data[2 * r + 1]]);
      const small = model.predict(nested, { batchSize: 5 });
      small.data.forEach((v, i) => expect(Math.abs(v - out.data[i])).toBeLessThan(1e-6));
    } finally {
      model.dispose();
    }
  });

  it('evaluate: the mean loss of the predictions, and accuracy when asked for', async () => {
    const model = await classifier(backend);
    try {
      model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam' });
      const plain = model.evaluate(MOONS_X, CLASSES, { batchSize: 10 });
      expect(plain.acc).toBeUndefined();
      const p = model.predict(MOONS_X).data;
      let want = 0;
      let correct = 0;
      CLASSES.forEach((k, r) => {
        want -= Math.log(p[3 * r + k]) / CLASSES.length;
        const row = [p[3 * r], p[3 * r + 1], p[3 * r + 2]];
        if (row.indexOf(Math.max(...row)) === k) correct++;
      });
      expect(Math.abs(plain.loss - want)).toBeLessThan(1e-5);
      model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam', metrics: ['accuracy'] });
      expect(model.evaluate(MOONS_X, CLASSES).acc).toBe(correct / CLASSES.length);
    } finally {
      model.dispose();
    }
  });

  it('getWeights returns copies; setWeights replaces them', async () => {
    const model = await classifier(backend);
    try {
      const weights = model.getWeights();
      expect(weights.map((w) => w.length)).toEqual([12, 6, 30, 5, 15, 3]);
      weights[0][0] += 1;
      expect(model.getWeights()[0][0]).not.toBe(weights[0][0]);
      const replaced = weights.map((w, t) => w.map((_, i) => 0.01 * (t + 1) * ((i % 7) - 3)));
      model.setWeights(replaced.map((w) => Array.from(w)));
      expect(model.getWeights()).toEqual(replaced);
    } finally {
      model.dispose();
    }
  });

  it('save → loadModel: same layers, weights, predictions, compile settings, optimizer state, metadata', async () => {
    const model = await classifier(backend);
    try {
      model.compile({ loss: 'categoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.01 }, metrics: ['accuracy'] });
      await model.fit(MOONS_X, CLASSES, { epochs: 2, batchSize: 16, seed: 1 });
      const bytes = model.save({ metadata: { classes: ['a', 'b', 'c'], note: 'moons' } });
      expect(Array.from(bytes.subarray(0, 4), (b) => String.fromCharCode(b)).join('')).toBe('SNET');
      expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true)).toBe(3);

      const loaded = await loadModel(bytes, { backend });
      try {
        expect(loaded.layers).toEqual(model.layers);
        expect(loaded.metadata).toEqual({ classes: ['a', 'b', 'c'], note: 'moons' });
        expect(loaded.getWeights()).toEqual(model.getWeights());
        expect(loaded.predict(MOONS_X).data).toEqual(model.predict(MOONS_X).data);
        expect(loaded.evaluate(MOONS_X, CLASSES)).toEqual(model.evaluate(MOONS_X, CLASSES));
        // Adam's moments and step came along: training on continues identically.
        const a = await model.fit(MOONS_X, CLASSES, { epochs: 2, batchSize: 16, seed: 2 });
        const b = await loaded.fit(MOONS_X, CLASSES, { epochs: 2, batchSize: 16, seed: 2 });
        expect(b.history).toEqual(a.history);
        expect(loaded.getWeights()).toEqual(model.getWeights());
      } finally {
        loaded.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  it('an uncompiled model saves and loads uncompiled; damaged bytes are refused', async () => {
    const model = await classifier(backend);
    try {
      model.metadata = { kept: true };
      const bytes = model.save({ includeOptimizer: false });
      const loaded = await loadModel(bytes, { backend });
      expect(loaded.metadata).toEqual({ kept: true });
      expect(() => loaded.evaluate(MOONS_X, CLASSES)).toThrow(/compile/);
      loaded.dispose();
      await expect(loadModel(bytes.subarray(0, bytes.length - 4), { backend })).rejects.toThrow(SimdnetError);
      const wrongMagic = bytes.slice();
      wrongMagic[0] = 0;
      await expect(loadModel(wrongMagic, { backend })).rejects.toThrow(/SNET/);
    } finally {
      model.dispose();
    }
  });

  it('dispose: every later use throws', async () => {
    const model = await classifier(backend);
    model.dispose();
    expect(() => model.predict(MOONS_X)).toThrow(/disposed/);
    expect(() => model.getWeights()).toThrow(SimdnetError);
    await expect(model.fit(MOONS_X, CLASSES)).rejects.toThrow(/disposed/);
  });
});

describe.runIf(BOTH_BACKENDS)('across backends', () => {
  it('a model saved from wasm loads on js and predicts the same to float32 rounding', async () => {
    const model = await classifier('wasm');
    try {
      model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam' });
      await model.fit(MOONS_X, CLASSES, { epochs: 3, batchSize: 8 });
      const loaded = await loadModel(model.save(), { backend: 'js' });
      expect(loaded.backend.name).toBe('js');
      expect(loaded.getWeights()).toEqual(model.getWeights());
      const want = model.predict(MOONS_X).data;
      loaded.predict(MOONS_X).data.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-5));
      loaded.dispose();
    } finally {
      model.dispose();
    }
  });
});
