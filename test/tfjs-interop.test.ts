/**
 * TensorFlow.js interop, against the real @tensorflow/tfjs (pure-JS cpu backend): models exported
 * by simdnet load with tf.loadLayersModel and predict the same; Sequential Dense models made by
 * tfjs import into simdnet and predict the same; anything else is refused, naming the layer.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, dense, fromTfjs, sequential, SimdnetError, type Sequential, type TfjsModelJson } from '../src/index.js';
import type { DenseLayer } from '../src/layers.js';
import { exportTfjs, importTfjs } from '../src/node.js';
import { expectClose } from './assert.js';
import { BACKEND_NAMES } from './backends.js';
import { mulberry32, uniform } from './prng.js';
import { toFiles } from './support/tfjs-files.js';

// Both compute in float32, in different orders: agreement to a few float32 roundings.
const TOLERANCE = { rtol: 1e-5, atol: 1e-6 };
const ROWS = 17;
const rand = mulberry32(2024);

function inputs(features: number): { data: Float32Array; shape: [number, number] } {
  return { data: uniform(rand, ROWS * features, -2, 2), shape: [ROWS, features] };
}

function tfPredict(model: tf.LayersModel, x: { data: Float32Array; shape: [number, number] }): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor2d(x.data, x.shape)) as tf.Tensor).dataSync() as Float32Array);
}

/** The artifacts tf.loadLayersModel needs, from simdnet's model.json and weights. */
function fromSimdnet(modelJson: unknown, weightsBin: Uint8Array): tf.io.IOHandler {
  const json = modelJson as TfjsModelJson;
  return tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: weightsBin.slice().buffer,
  });
}

async function simdnetModel(backend: 'js' | 'wasm'): Promise<Sequential> {
  const model = await sequential({
    layers: [
      dense({ units: 9, activation: 'relu', inputShape: [5] }),
      dense({ units: 6, activation: 'leakyRelu', alpha: 0.1 }),
      dense({ units: 5, activation: 'tanh' }),
      dense({ units: 4, activation: 'sigmoid' }),
      dense({ units: 3, activation: 'linear' }),
      dense({ units: 3, activation: 'softmax' }),
    ],
    backend,
    seed: 4,
  });
  // Train a little so biases are not all zero.
  model.compile({ loss: 'categoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.05 } });
  const x = inputs(5);
  await model.fit(x, Array.from({ length: ROWS }, (_, i) => i % 3), { epochs: 3, batchSize: 4, seed: 1 });
  return model;
}

beforeAll(async () => {
  tf.env().set('IS_TEST', true); // silences tfjs' advice to install tfjs-node
  await tf.setBackend('cpu');
});

describe.each(BACKEND_NAMES)('export from simdnet (%s) to TensorFlow.js', (backend) => {
  it('tf.loadLayersModel reads toTfjs() and predicts the same', async () => {
    const model = await simdnetModel(backend);
    try {
      const { modelJson, weightsBin } = model.toTfjs();
      // model.json is plain JSON: what is written to disk is what is read.
      const json = JSON.parse(JSON.stringify(modelJson)) as TfjsModelJson;
      expect(json.format).toBe('layers-model');
      expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
      expect(weightsBin.length).toBe(4 * model.countParams());
      const tfModel = await tf.loadLayersModel(fromSimdnet(json, weightsBin));
      expect(tfModel.layers.map((l) => l.getClassName())).toEqual(['Dense', 'Dense', 'LeakyReLU', 'Dense', 'Dense', 'Dense', 'Dense']);
      const x = inputs(5);
      expectClose(tfPredict(tfModel, x), model.predict(x).data, TOLERANCE, 'tfjs vs simdnet outputs');
      // The weights are the same numbers, not merely close.
      const tfWeights = tfModel.getWeights().map((w) => w.dataSync());
      expect(tfWeights).toEqual(model.getWeights());
      tfModel.dispose();
    } finally {
      model.dispose();
    }
  });
});

describe.each(BACKEND_NAMES)('import from TensorFlow.js into simdnet (%s)', (backend) => {
  it('a Sequential of Dense layers (with Activation, LeakyReLU, ReLU and no-bias layers) predicts the same', async () => {
    const tfModel = tf.sequential({
      layers: [
        tf.layers.dense({ units: 8, activation: 'relu', inputShape: [4] }),
        tf.layers.dense({ units: 7 }),
        tf.layers.leakyReLU({ alpha: 0.2 }),
        tf.layers.dense({ units: 6, useBias: false }),
        tf.layers.activation({ activation: 'tanh' }),
        tf.layers.dense({ units: 5, activation: 'sigmoid', biasInitializer: 'randomNormal' }),
        tf.layers.dense({ units: 5 }),
        tf.layers.reLU(),
        tf.layers.dense({ units: 3, activation: 'softmax', biasInitializer: 'ones' }),
      ],
    });
    const { modelJson, weightsBin } = await toFiles(tfModel);
    const model = await fromTfjs(JSON.stringify(modelJson), weightsBin, { backend });
    try {
      expect((model.layers as DenseLayer[]).map((l) => l.activation)).toEqual(['relu', 'leakyRelu', 'tanh', 'sigmoid', 'relu', 'softmax']);
      expect((model.layers[1] as DenseLayer).alpha).toBeCloseTo(0.2, 7);
      const x = inputs(4);
      expectClose(model.predict(x).data, tfPredict(tfModel, x), TOLERANCE, 'simdnet vs tfjs outputs');
      // The imported model trains like any other.
      model.compile({ loss: 'categoricalCrossentropy' });
      const { history } = await model.fit(x, Array.from({ length: ROWS }, (_, i) => i % 3), { epochs: 2 });
      expect(history.loss.every(Number.isFinite)).toBe(true);
    } finally {
      model.dispose();
      tfModel.dispose();
    }
  });
});

describe.each(BACKEND_NAMES)('elu, selu, softplus, swish, gelu and relu6 with TensorFlow.js (%s)', (backend) => {
  const ACTS = ['elu', 'selu', 'softplus', 'swish', 'gelu', 'relu6'] as const;

  it('exported as Dense activations, they predict in TensorFlow.js what they predict in simdnet', async () => {
    const model = await sequential({
      layers: [
        dense({ units: 7, activation: 'elu', inputShape: [4] }),
        ...ACTS.slice(1).map((activation) => dense({ units: 6, activation })),
        dense({ units: 3, activation: 'softmax' }),
      ],
      backend,
      seed: 9,
    });
    try {
      model.compile({ loss: 'categoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.05 } });
      const x = inputs(4);
      await model.fit(x, Array.from({ length: ROWS }, (_, i) => i % 3), { epochs: 3, batchSize: 5, seed: 2 });
      const { modelJson, weightsBin } = model.toTfjs();
      const tfModel = await tf.loadLayersModel(fromSimdnet(modelJson, weightsBin));
      const topology = (modelJson.modelTopology.config.layers).map((l) => l.config.activation);
      expect(topology).toEqual([...ACTS, 'softmax']);
      expectClose(tfPredict(tfModel, x), model.predict(x).data, TOLERANCE, 'tfjs vs simdnet, new activations');
      tfModel.dispose();
    } finally {
      model.dispose();
    }
  });

  it('imported from Dense activations, ReLU(maxValue 6) and ELU layers, they predict the same', async () => {
    const tfModel = tf.sequential({
      layers: [
        ...ACTS.map((activation, i) => tf.layers.dense({ units: 6, activation, biasInitializer: 'randomNormal', ...(i === 0 ? { inputShape: [4] } : {}) })),
        tf.layers.dense({ units: 5 }),
        tf.layers.reLU({ maxValue: 6 }),
        tf.layers.dense({ units: 5, biasInitializer: 'randomNormal' }),
        tf.layers.elu(),
        tf.layers.dense({ units: 2, activation: 'gelu' }),
      ],
    });
    // Large enough inputs that relu6 saturates somewhere and elu and selu see both signs.
    const x = { data: uniform(rand, ROWS * 4, -6, 6), shape: [ROWS, 4] as [number, number] };
    const { modelJson, weightsBin } = await toFiles(tfModel);
    const model = await fromTfjs(JSON.stringify(modelJson), weightsBin, { backend });
    try {
      expect((model.layers as DenseLayer[]).map((l) => l.activation)).toEqual([...ACTS, 'relu6', 'elu', 'gelu']);
      // tfjs' erf (for gelu) is good to 1.5e-7 absolute: a few ulps of O(1) outputs.
      expectClose(model.predict(x).data, tfPredict(tfModel, x), { rtol: 1e-5, atol: 2e-6 }, 'simdnet vs tfjs, new activations');
    } finally {
      model.dispose();
      tfModel.dispose();
    }
  });
});

describe('round trips and files', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'simdnet-tfjs-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('simdnet → TensorFlow.js format → simdnet keeps every weight bit', async () => {
    const model = await simdnetModel('js');
    try {
      const { modelJson, weightsBin } = model.toTfjs();
      const back = await fromTfjs(modelJson, new Blob([weightsBin]), { backend: 'js' });
      expect(back.getWeights()).toEqual(model.getWeights());
      const described = (layers: readonly unknown[]): unknown[] => (layers as DenseLayer[]).map((l) => [l.units, l.activation, l.alpha]);
      expect(described(back.layers)).toEqual(described(model.layers));
      back.dispose();
    } finally {
      model.dispose();
    }
  });

  it('exportTfjs writes model.json and weights.bin that tfjs loads; importTfjs reads them back', async () => {
    const model = await simdnetModel('wasm');
    try {
      const out = join(dir, 'exported');
      const paths = await exportTfjs(model, out);
      // A file-reading IOHandler: tfjs-node's file:// handler is not available here.
      const handler: tf.io.IOHandler = {
        load: async () => {
          const json = JSON.parse(await readFile(paths.modelJson, 'utf8')) as TfjsModelJson;
          const bin = await readFile(join(out, json.weightsManifest[0].paths[0]));
          return { modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: new Uint8Array(bin).buffer };
        },
      };
      const tfModel = await tf.loadLayersModel(handler);
      const x = inputs(5);
      expectClose(tfPredict(tfModel, x), model.predict(x).data, TOLERANCE, 'tfjs from files vs simdnet');
      const again = await importTfjs(out, { backend: 'js' });
      expect(again.getWeights()).toEqual(model.getWeights());
      const viaJsonPath = await importTfjs(paths.modelJson, { backend: 'js' });
      expect(viaJsonPath.predict(x).data).toEqual(again.predict(x).data);
      again.dispose();
      viaJsonPath.dispose();
      tfModel.dispose();
    } finally {
      model.dispose();
    }
  });

  it('importTfjs reads sharded weights and refuses a manifest path outside the model folder', async () => {
    const tfModel = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2], activation: 'sigmoid' })] });
    const { modelJson, weightsBin } = await toFiles(tfModel);
    const sharded = join(dir, 'sharded');
    await mkdir(sharded);
    const json = modelJson as TfjsModelJson;
    json.weightsManifest[0].paths = ['group1-shard1of2.bin', 'group1-shard2of2.bin'];
    await writeFile(join(sharded, 'model.json'), JSON.stringify(json));
    await writeFile(join(sharded, 'group1-shard1of2.bin'), weightsBin.subarray(0, 10));
    await writeFile(join(sharded, 'group1-shard2of2.bin'), weightsBin.subarray(10));
    const model = await importTfjs(sharded, { backend: 'js' });
    const x = inputs(2);
    expectClose(model.predict(x).data, tfPredict(tfModel, x), TOLERANCE, 'sharded import');
    model.dispose();
    json.weightsManifest[0].paths = ['../../etc/passwd'];
    await writeFile(join(sharded, 'model.json'), JSON.stringify(json));
    await expect(importTfjs(sharded, { backend: 'js' })).rejects.toThrow(/not a path beside it/);
    tfModel.dispose();
  });
});

describe('what cannot be imported is refused, naming the layer', () => {
  async function refusal(layers: tf.layers.Layer[], pattern: RegExp, edit?: (json: TfjsModelJson) => void): Promise<void> {
    const tfModel = tf.sequential({ layers });
    const { modelJson, weightsBin } = await toFiles(tfModel);
    edit?.(modelJson as TfjsModelJson);
    const error = await fromTfjs(modelJson, weightsBin, { backend: 'js' }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SimdnetError);
    expect((error as Error).message).toMatch(pattern);
    tfModel.dispose();
  }

  it('unsupported layers', async () => {
    await refusal(
      [tf.layers.dense({ units: 4, inputShape: [3] }), tf.layers.gaussianNoise({ stddev: 0.1, name: 'noise' }), tf.layers.dense({ units: 1 })],
      /layer 1 'noise' \(GaussianNoise\) is not supported/,
    );
    await refusal(
      [tf.layers.dense({ units: 4, inputShape: [3] }), tf.layers.layerNormalization({ name: 'ln' })],
      /'ln' \(LayerNormalization\) is not supported/,
    );
  });

  it('unsupported activations, stacked activations and inputs that are not flat', async () => {
    await refusal([tf.layers.dense({ units: 4, inputShape: [3], activation: 'hardSigmoid', name: 'd_hs' })], /'d_hs' \(Dense\) has activation "hard_sigmoid"/);
    await refusal([tf.layers.dense({ units: 4, inputShape: [3] }), tf.layers.reLU({ maxValue: 5, name: 'r5' })], /'r5' \(ReLU\) with a threshold or a max_value other than 6/);
    // (tfjs' own ELU layer has alpha 1 only; Keras' may have another.)
    await refusal([tf.layers.dense({ units: 4, inputShape: [3] }), tf.layers.elu({ name: 'e' })], /'e' \(ELU\) has alpha 0.5/, (j) => {
      (j.modelTopology.config.layers[1].config as { alpha: number }).alpha = 0.5;
    });
    await refusal(
      [tf.layers.dense({ units: 4, inputShape: [3], activation: 'relu' }), tf.layers.activation({ activation: 'tanh', name: 'act' })],
      /'act' \(Activation\) must follow a Dense layer with a linear activation/,
    );
    await refusal([tf.layers.dense({ units: 4, inputShape: [3, 2], name: 'deep' })], /'deep' \(Dense\) takes inputs of shape/);
  });

  it('functional models, other dtypes, quantized weights and a weights file of the wrong size', async () => {
    const dense3 = (): tf.layers.Layer[] => [tf.layers.dense({ units: 2, inputShape: [3] })];
    await refusal(dense3(), /only Sequential models.*"Model"/, (j) => { (j.modelTopology as { class_name: string }).class_name = 'Model'; });
    await refusal(dense3(), /dtype "int32"; simdnet imports float32 weights only/, (j) => { (j.weightsManifest[0].weights[0] as { dtype: string }).dtype = 'int32'; });
    await refusal(dense3(), /quantized/, (j) => { Object.assign(j.weightsManifest[0].weights[0], { quantization: { dtype: 'uint8', scale: 1, min: 0 } }); });
    await refusal(dense3(), /weightsBin holds 32 bytes, but the weightsManifest describes 36/, (j) => { j.weightsManifest[0].weights[0].shape = [3, 3]; });
    await expect(fromTfjs('{"nope": 1}', new Uint8Array(0))).rejects.toThrow(/modelTopology/);
    await expect(fromTfjs('not json', new Uint8Array(0))).rejects.toThrow(/does not parse/);
  });
});

describe.each(BACKEND_NAMES)('meanAbsoluteError and huber against tf.losses (%s)', (backend) => {
  it('value and gradient equal tf.metrics.meanAbsoluteError / tf.losses.huberLoss and tf.grad', async () => {
    const m = 9, n = 3;
    const a = uniform(rand, m * n, -3, 3);
    const y = uniform(rand, m * n, -3, 3);
    const be = await createBackend(backend);
    const run = (loss: 'mae' | 'huber'): { value: number; grad: Float32Array } => {
      const [pa, py, pd] = [be.alloc(m * n), be.alloc(m * n), be.alloc(m * n)];
      be.f32.set(a, pa >> 2);
      be.f32.set(y, py >> 2);
      const value = loss === 'mae' ? be.lossMae(pa, py, pd, m, n) : be.lossHuber(pa, py, pd, m, n, 1);
      return { value, grad: be.f32.slice(pd >> 2, (pd >> 2) + m * n) };
    };
    const labels = tf.tensor2d(y, [m, n]);
    const tfLoss = {
      mae: (p: tf.Tensor) => tf.mean(tf.metrics.meanAbsoluteError(labels, p)),
      huber: (p: tf.Tensor) => tf.losses.huberLoss(labels, p, undefined, 1),
    };
    for (const loss of ['mae', 'huber'] as const) {
      const got = run(loss);
      const pred = tf.tensor2d(a, [m, n]);
      const want = tfLoss[loss](pred).dataSync()[0];
      const wantGrad = tf.grad((p: tf.Tensor) => tfLoss[loss](p) as tf.Scalar)(pred).dataSync();
      expect(Math.abs(got.value - want)).toBeLessThanOrEqual(1e-6 * Math.abs(want));
      expectClose(got.grad, wantGrad, { rtol: 1e-5, atol: 1e-7 }, `${loss} gradient vs tf.grad`);
      pred.dispose();
    }
    labels.dispose();
  });
});

describe.each(BACKEND_NAMES)('kernel regularizers with TensorFlow.js (%s)', (backend) => {
  it('an L1L2 Dense model trains as TF.js trains it (loss with penalty, weights after SGD steps), and the regularizer moves both ways', async () => {
    const reg = { l1: 0.01, l2: 0.02 };
    const tfModel = tf.sequential({
      layers: [
        tf.layers.dense({ units: 6, activation: 'tanh', inputShape: [4], kernelRegularizer: tf.regularizers.l1l2(reg) }),
        tf.layers.dense({ units: 1, activation: 'sigmoid', kernelRegularizer: tf.regularizers.l1l2(reg) }),
      ],
    });
    const { modelJson, weightsBin } = await toFiles(tfModel);
    const model = await fromTfjs(modelJson, weightsBin, { backend });
    try {
      expect((model.layers as DenseLayer[]).map((l) => l.kernelRegularizer)).toEqual([reg, reg]);
      const x = inputs(4);
      const y = Array.from({ length: ROWS }, (_, i) => i % 2);
      // One batch of all rows, plain SGD, two epochs: the same steps in both.
      tfModel.compile({ loss: 'binaryCrossentropy', optimizer: tf.train.sgd(0.1) });
      const tfHistory = await tfModel.fit(tf.tensor2d(x.data, x.shape), tf.tensor2d(y, [ROWS, 1]), {
        epochs: 2, batchSize: ROWS, shuffle: false, verbose: 0,
      });
      model.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'sgd', learningRate: 0.1 } });
      const history = await model.fit(x, y, { epochs: 2, batchSize: ROWS, shuffle: false });
      expectClose(history.history.loss, tfHistory.history.loss as number[], { rtol: 2e-5, atol: 1e-6 }, 'loss with penalty, vs tfjs');
      tfModel.getWeights().forEach((w, i) => expectClose(model.getWeights()[i], w.dataSync(), { rtol: 2e-5, atol: 1e-6 }, `weight ${i} after SGD, vs tfjs`));
      const exported = model.toTfjs().modelJson.modelTopology.config.layers[0].config.kernel_regularizer;
      expect(exported).toEqual({ class_name: 'L1L2', config: reg });
    } finally {
      model.dispose();
      tfModel.dispose();
    }
  });
});
