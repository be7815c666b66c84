/**
 * Saving and loading: a model comes back bit for bit (weights, predictions, optimizer state and
 * step), so training resumed from a save takes exactly the steps training that never stopped takes;
 * bytes, ArrayBuffers, Blobs and (in Node) files all work.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dense, loadModel, moons, sequential, SimdnetError, type OptimizerConfig, type Sequential } from '../src/index.js';
import { loadModelFile, saveModelFile } from '../src/node.js';
import { BACKEND_NAMES } from './backends.js';

const { x: X, y: Y } = moons(96, 3);
const CLASSES = Array.from(Y, (v, i) => (v === 1 ? 1 + (i % 3 === 0 ? 1 : 0) : 0));
const OPTIMIZERS: OptimizerConfig[] = [
  { type: 'sgd', learningRate: 0.1 },
  { type: 'momentum', learningRate: 0.05, beta: 0.8, l2: 1e-4 },
  { type: 'adam', learningRate: 0.01 },
];

async function network(backend: 'js' | 'wasm', seed = 11): Promise<Sequential> {
  return sequential({
    layers: [
      dense({ units: 7, activation: 'leakyRelu', alpha: 0.05, inputShape: [2] }),
      dense({ units: 5, activation: 'tanh' }),
      dense({ units: 3, activation: 'softmax' }),
    ],
    backend,
    seed,
  });
}

async function using<T>(models: Sequential[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    for (const m of models) m.dispose();
  }
}

describe.each(BACKEND_NAMES)('the shuffle stream in the file, on %s', (backend) => {
  it('without a fit seed, a model saved between two fits continues exactly as the original', async () => {
    const model = await network(backend);
    await using([model], async () => {
      model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam' });
      await model.fit(X, CLASSES, { epochs: 2, batchSize: 10 });
      const loaded = await loadModel(model.save(), { backend });
      await using([loaded], async () => {
        const a = await model.fit(X, CLASSES, { epochs: 2, batchSize: 10 });
        const b = await loaded.fit(X, CLASSES, { epochs: 2, batchSize: 10 });
        expect(b.history).toEqual(a.history);
        expect(loaded.getWeights()).toEqual(model.getWeights());
      });
    });
  });

  it('without a fit seed, a checkpoint saved during a fit resumes with initialEpoch as the run went on', async () => {
    const model = await network(backend);
    await using([model], async () => {
      model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam' });
      await model.fit(X, CLASSES, { epochs: 1, batchSize: 10 }); // the stream has moved on before this run
      let checkpoint: Uint8Array | undefined;
      const run = await model.fit(X, CLASSES, {
        epochs: 4, batchSize: 10,
        checkpoint: { everyEpochs: 2, onSave: (bytes, { epoch }) => { if (epoch === 1) checkpoint = bytes; } },
      });
      const resumed = await loadModel(checkpoint!, { backend });
      await using([resumed], async () => {
        const rest = await resumed.fit(X, CLASSES, { epochs: 4, batchSize: 10, initialEpoch: 2 });
        expect(rest.history.loss).toEqual(run.history.loss.slice(2));
        expect(resumed.getWeights()).toEqual(model.getWeights());
      });
    });
  });
});

describe('files of format version 1 (before the shuffle stream was saved)', () => {
  // test/fixtures/model-v1.snet was written by model.save() of simdnet with format version 1: a
  // 3-5-3 tanh/softmax model (seed 7), compiled with Adam (learningRate 0.05) and accuracy, fitted
  // 3 epochs of 3 batches without a fit seed. Its predictions were recorded then.
  it('still load, predict as when saved, keep their optimizer state, and train on from the seed', async () => {
    const bytes = new Uint8Array(await readFile(new URL('./fixtures/model-v1.snet', import.meta.url)));
    expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(1);
    for (const backend of BACKEND_NAMES) {
      const model = await loadModel(bytes, { backend });
      await using([model], async () => {
        expect(model.metadata).toEqual({ made: 'before the shuffle state was saved', format: 1 });
        const out = Array.from(model.predict([[0.5, -0.5, 1]]).data);
        [0.5653176307678223, 0.28276896476745605, 0.15191338956356049].forEach((v, i) => expect(out[i]).toBeCloseTo(v, 5));
        const again = await loadModel(model.save(), { backend }); // written back as the current version
        expect(new DataView(model.save().buffer).getUint32(4, true)).toBe(3);
        expect(again.getWeights()).toEqual(model.getWeights());
        again.dispose();
        const x = Array.from({ length: 12 }, (_, i) => [Math.sin(i), Math.cos(i * 0.7), (i % 4) / 3]);
        const history = await model.fit(x, x.map((_, i) => i % 3), { epochs: 2, batchSize: 4 });
        expect(history.history.loss.every(Number.isFinite)).toBe(true);
      });
    }
  });
});

describe.each(BACKEND_NAMES)('save and load on %s', (backend) => {
  it.each(OPTIMIZERS)('$type: the loaded model predicts identically and trains on exactly as the original', async (optimizer) => {
    const model = await network(backend);
    await using([model], async () => {
      model.compile({ loss: 'categoricalCrossentropy', optimizer, metrics: ['accuracy'] });
      await model.fit(X, CLASSES, { epochs: 2, batchSize: 10, seed: 1 });
      const loaded = await loadModel(model.save(), { backend });
      await using([loaded], async () => {
        expect(loaded.getWeights()).toEqual(model.getWeights());
        expect(loaded.predict(X).data).toEqual(model.predict(X).data);
        // Two more epochs each: identical only if the optimizer state and step came along.
        const a = await model.fit(X, CLASSES, { epochs: 2, batchSize: 10, seed: 2 });
        const b = await loaded.fit(X, CLASSES, { epochs: 2, batchSize: 10, seed: 2 });
        expect(b.history).toEqual(a.history);
        expect(loaded.getWeights()).toEqual(model.getWeights());
      });
    });
  });

  it('resuming from a checkpoint with initialEpoch repeats the uninterrupted run exactly', async () => {
    const options = { epochs: 6, batchSize: 8, seed: 9, validationSplit: 0.25 };
    const model = await network(backend);
    const saved: Uint8Array[] = [];
    await using([model], async () => {
      model.compile({ loss: 'categoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.02 } });
      const full = await model.fit(X, CLASSES, { ...options, checkpoint: { everyEpochs: 3, onSave: (bytes) => void saved.push(bytes) } });
      expect(saved).toHaveLength(2);
      const resumed = await loadModel(saved[0], { backend });
      await using([resumed], async () => {
        const rest = await resumed.fit(X, CLASSES, { ...options, initialEpoch: 3 });
        expect(rest.epoch).toEqual([3, 4, 5]);
        expect(rest.history.loss).toEqual(full.history.loss.slice(3));
        expect(rest.history.val_loss).toEqual(full.history.val_loss!.slice(3));
        expect(resumed.getWeights()).toEqual(model.getWeights());
      });
    });
  });

  it('without optimizer state, a loaded model trains on as a freshly compiled one', async () => {
    const model = await network(backend);
    await using([model], async () => {
      model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam' });
      await model.fit(X, CLASSES, { epochs: 1, batchSize: 16, seed: 1 });
      const light = await loadModel(model.save({ includeOptimizer: false }), { backend });
      const fresh = await loadModel(model.save(), { backend });
      await using([light, fresh], async () => {
        expect(light.save({ includeOptimizer: false }).length).toBeLessThan(fresh.save().length);
        fresh.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam' }); // resets state and step
        const a = await light.fit(X, CLASSES, { epochs: 1, batchSize: 16, seed: 4 });
        const b = await fresh.fit(X, CLASSES, { epochs: 1, batchSize: 16, seed: 4 });
        expect(a.history).toEqual(b.history);
      });
    });
  });

  it('reads bytes at any offset, ArrayBuffers and Blobs', async () => {
    const model = await network(backend);
    await using([model], async () => {
      const bytes = model.save({ metadata: { name: 'moons' } });
      const shifted = new Uint8Array(bytes.length + 3);
      shifted.set(bytes, 3); // float data no longer 4-byte aligned in its buffer
      const want = model.predict(X).data;
      for (const input of [shifted.subarray(3), bytes.slice().buffer, new Blob([bytes])]) {
        const loaded = await loadModel(input, { backend });
        expect(loaded.predict(X).data).toEqual(want);
        expect(loaded.metadata).toEqual({ name: 'moons' });
        loaded.dispose();
      }
    });
  });
});

describe('model files in Node (simdnet/node)', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'simdnet-files-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('saveModelFile → loadModelFile, leaving no temporary file behind', async () => {
    const model = await network('js');
    await using([model], async () => {
      model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam' });
      await model.fit(X, CLASSES, { epochs: 1, seed: 1 });
      const path = join(dir, 'moons.snet');
      await saveModelFile(model, path, { metadata: { v: 1 } });
      await saveModelFile(model, path, { metadata: { v: 2 } }); // overwrites in place
      expect(await readdir(dir)).toEqual(['moons.snet']);
      const loaded = await loadModelFile(path, { backend: 'js' });
      expect(loaded.metadata).toEqual({ v: 2 });
      expect(loaded.predict(X).data).toEqual(model.predict(X).data);
      loaded.dispose();
    });
  });

  it('clear errors for a missing file, a folder and a file that is not a model', async () => {
    await expect(loadModelFile(join(dir, 'nope.snet'))).rejects.toThrow(/nope\.snet.*no such file/);
    await expect(loadModelFile(dir)).rejects.toThrow(SimdnetError);
    const junk = join(dir, 'junk.snet');
    await writeFile(junk, 'hello');
    await expect(loadModelFile(junk)).rejects.toThrow(/SNET/);
    const model = await network('js');
    await using([model], async () => {
      await expect(saveModelFile(model, join(dir, 'missing-folder', 'm.snet'))).rejects.toThrow(/cannot write .*m\.snet: the folder .*missing-folder does not exist/);
    });
  });
});
