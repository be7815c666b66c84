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
import { dense, fromTfjs, sequential, SimdnetError, type Sequential, type TfjsModelJson } from '../src/index.js';
import { exportTfjs, importTfjs } from '../src/node.js';
import { expectClose } from './assert.js';
import { BACKEND_NAMES } from './backends.js';
import { mulberry32, uniform } from './prng.js';

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

/** A tfjs model as model.json (object) and weights, as tfjs itself saves it. */
async function toFiles(model: tf.LayersModel): Promise<{ modelJson: object; weightsBin: Uint8Array }> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
  }));
  const data = tf.io.CompositeArrayBuffer.join(artifacts!.weightData);
  return {
    modelJson: { format: 'layers-model', modelTopology: artifacts!.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts!.weightSpecs }] },
    weightsBin: new Uint8Array(data),
  };
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
      expect(model.layers.map((l) => l.activation)).toEqual(['relu', 'leakyRelu', 'tanh', 'sigmoid', 'relu', 'softmax']);
      expect(model.layers[1].alpha).toBeCloseTo(0.2, 7);
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
      expect(back.layers.map((l) => [l.units, l.activation, l.alpha])).toEqual(model.layers.map((l) => [l.units, l.activation, l.alpha]));
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
      [tf.layers.dense({ units: 4, inputShape: [3] }), tf.layers.dropout({ rate: 0.5, name: 'my_dropout' }), tf.layers.dense({ units: 1 })],
      /layer 1 'my_dropout' \(Dropout\) is not supported/,
    );
    await refusal(
      [tf.layers.dense({ units: 4, inputShape: [3] }), tf.layers.batchNormalization({ name: 'bn' })],
      /'bn' \(BatchNormalization\) is not supported/,
    );
  });

  it('unsupported activations, stacked activations and inputs that are not flat', async () => {
    await refusal([tf.layers.dense({ units: 4, inputShape: [3], activation: 'elu', name: 'd_elu' })], /'d_elu' \(Dense\) has activation "elu"/);
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
