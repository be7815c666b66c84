/**
 * Model files written before the format grew layer types, batch-norm statistics and new optimizer
 * state still load. test/fixtures/v1-adam.snet and v1-momentum.snet were saved by simdnet 0.1.0
 * (SNET version 1, commit fecdee7) from fixed seeds; v1-adam.expected.json holds what that version
 * predicted for two rows. v2-adam.snet was saved at commit b274d2a (SNET version 2, the shuffle
 * stream), v3-rmsprop-dropout.snet at commit 0ff8ded (version 3, before batch normalization), both
 * with the js backend, each with the predictions of that version beside it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import type { DenseLayer } from '../src/layers.js';
import { BACKEND_NAMES } from './backends.js';
import { expectClose } from './assert.js';

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));

describe.each(BACKEND_NAMES)('files saved by simdnet 0.1.0 (%s)', (backend) => {
  it('an Adam model loads with its layers, compile settings, state and predictions', async () => {
    const model = await loadModel(fixture('v1-adam.snet'), { backend });
    const expected = JSON.parse(readFileSync(new URL('./fixtures/v1-adam.expected.json', import.meta.url), 'utf8')) as { x: number[][]; predict: number[] };
    try {
      expect((model.layers as DenseLayer[]).map((l) => l.activation)).toEqual(['relu', 'tanh', 'softmax']);
      expect(model.metadata).toEqual({ fixture: 'saved by simdnet 0.1.0, SNET version 1' });
      expectClose(model.predict(expected.x).data, expected.predict, { rtol: 1e-5, atol: 1e-6 }, 'predictions of a version 1 file');
      // Compiled, with Adam's state: training resumes.
      const { history } = await model.fit(expected.x, [0, 1], { epochs: 1 });
      expect(Number.isFinite(history.loss[0])).toBe(true);
    } finally {
      model.dispose();
    }
  });

  it('a momentum model with l2 loads and trains', async () => {
    const model = await loadModel(fixture('v1-momentum.snet'), { backend });
    try {
      expect((model.layers as DenseLayer[]).map((l) => l.units)).toEqual([3, 1]);
      const { history } = await model.fit([[0, 1], [1, 0]], [1, 2], { epochs: 1 });
      expect(Number.isFinite(history.loss[0])).toBe(true);
    } finally {
      model.dispose();
    }
  });
});

describe.each(BACKEND_NAMES)('files saved by the versions before batch normalization (%s)', (backend) => {
  const expected = (name: string): { x: number[][]; predict: number[]; step: number } =>
    JSON.parse(readFileSync(new URL(`./fixtures/${name}.expected.json`, import.meta.url), 'utf8')) as { x: number[][]; predict: number[]; step: number };

  it.each(['v2-adam', 'v3-rmsprop-dropout'])('%s loads with its state and predictions, and trains on', async (name) => {
    const model = await loadModel(fixture(`${name}.snet`), { backend });
    const want = expected(name);
    try {
      expect(model.layers.some((l) => l.type === 'batchNormalization')).toBe(false);
      expectClose(model.predict(want.x).data, want.predict, { rtol: 1e-5, atol: 1e-6 }, `predictions of ${name}`);
      const { history } = await model.fit(want.x, [0, 1], { epochs: 1 });
      expect(Number.isFinite(history.loss[0])).toBe(true);
    } finally {
      model.dispose();
    }
  });

  it('a version 3 file without batch normalization is saved again byte for byte: the format of such models is unchanged', async () => {
    const bytes = fixture('v3-rmsprop-dropout.snet');
    const model = await loadModel(bytes, { backend });
    expect(model.save()).toEqual(bytes);
    model.dispose();
  });
});
