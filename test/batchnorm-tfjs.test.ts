/**
 * batchNormalization against the real @tensorflow/tfjs (pure-JS cpu backend), on every backend:
 * TF.js models with trained BatchNormalization layers import as simdnet layers and predict the same;
 * simdnet models with them export to what tf.loadLayersModel reads and predicts the same; a round
 * trip keeps every weight bit; and training from the same weights on the same batches gives TF.js'
 * losses, weights and moving statistics.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  activation, batchNormalization, dense, dropout, fromTfjs, sequential, type TfjsModelJson,
} from '../src/index.js';
import { expectClose } from './assert.js';
import { BACKEND_NAMES } from './backends.js';
import { mulberry32, uniform } from './prng.js';
import { toFiles } from './support/tfjs-files.js';

// Both compute in float32, in different orders: agreement to a few float32 roundings.
const TOLERANCE = { rtol: 1e-5, atol: 1e-5 };
const ROWS = 20;

type Matrix = { data: Float32Array; shape: [number, number] };

function inputs(features: number, seed: number, rows = ROWS): Matrix {
  return { data: uniform(mulberry32(seed), rows * features, -2, 2), shape: [rows, features] };
}

function tfPredict(model: tf.LayersModel, x: Matrix): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor2d(x.data, x.shape)) as tf.Tensor).dataSync() as Float32Array);
}

/** simdnet's export, as tf.loadLayersModel reads it. */
function loadExport(modelJson: TfjsModelJson, weightsBin: Uint8Array): Promise<tf.LayersModel> {
  return tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights), weightData: weightsBin.slice().buffer,
  }));
}

/**
 * A TF.js model's weights layer by layer, as simdnet's getWeights() lists them (tf.LayersModel's
 * own getWeights() puts every layer's moving statistics after all the trainable weights).
 */
function tfWeights(model: tf.LayersModel): Float32Array[] {
  return model.layers.flatMap((l) => l.getWeights().map((w) => w.dataSync() as Float32Array));
}

function oneHot(rows: number, classes: number): tf.Tensor {
  return tf.oneHot(tf.tensor1d(Array.from({ length: rows }, (_, i) => (i * 7) % classes), 'int32'), classes);
}

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

describe.each(BACKEND_NAMES)('BatchNormalization from TensorFlow.js (%s)', (backend) => {
  it('Dense → BN → Activation, Dense(tanh) → BN → Dense(no bias) → BN → Dense: trained in TF.js, the same predictions; re-exported bit for bit', async () => {
    const tfModel = tf.sequential({
      layers: [
        tf.layers.dense({ units: 8, inputShape: [4], name: 'd1' }),
        tf.layers.batchNormalization({ name: 'bn1' }),
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.dense({ units: 6, activation: 'tanh', name: 'd2' }),
        tf.layers.batchNormalization({ name: 'bn2', epsilon: 0.01, momentum: 0.5 }),
        tf.layers.dense({ units: 5, useBias: false, name: 'd3' }),
        tf.layers.batchNormalization({ name: 'bn3', momentum: 0.8 }),
        tf.layers.dense({ units: 3, activation: 'softmax', name: 'd4' }),
      ],
    });
    // Train so that the moving statistics, γ and β are far from their initial values.
    const x = inputs(4, 1);
    tfModel.compile({ loss: 'categoricalCrossentropy', optimizer: tf.train.adam(0.05) });
    await tfModel.fit(tf.tensor2d(x.data, x.shape), oneHot(ROWS, 3), { epochs: 5, batchSize: 5, verbose: 0 });
    const { modelJson, weightsBin } = await toFiles(tfModel);
    const model = await fromTfjs(modelJson, weightsBin, { backend });
    try {
      expect(model.layers.map((l) => l.type)).toEqual([
        'dense', 'batchNormalization', 'activation', 'dense', 'batchNormalization', 'dense', 'batchNormalization', 'dense',
      ]);
      expect(model.layers[4]).toEqual({ type: 'batchNormalization', momentum: 0.5, epsilon: 0.01, center: true, scale: true });
      // TF.js' weights, with the zero bias simdnet gives the Dense layer without one (d3).
      const weights = tfWeights(tfModel);
      weights.splice(13, 0, new Float32Array(5));
      expect(model.getWeights()).toEqual(weights);
      expectClose(model.predict(x).data, tfPredict(tfModel, x), TOLERANCE, 'simdnet vs tfjs, trained BatchNormalization layers');
      // Export again: TF.js reads every weight back, the same bits, and predicts the same.
      const again = model.toTfjs();
      const reloaded = await loadExport(again.modelJson, again.weightsBin);
      expect(reloaded.layers.map((l) => l.getClassName())).toEqual([
        'Dense', 'BatchNormalization', 'Activation', 'Dense', 'BatchNormalization', 'Dense', 'BatchNormalization', 'Dense',
      ]);
      expect(tfWeights(reloaded)).toEqual(model.getWeights());
      expectClose(tfPredict(reloaded, x), tfPredict(tfModel, x), TOLERANCE, 'the re-export in tfjs');
      reloaded.dispose();
    } finally {
      model.dispose();
      tfModel.dispose();
    }
  });

  it('without center or without scale (no beta or gamma weight): the same predictions, and both ways', async () => {
    // (TF.js cannot train such layers: its training path reads the missing weights.)
    const tfModel = tf.sequential({
      layers: [
        tf.layers.dense({ units: 6, inputShape: [4], biasInitializer: 'randomNormal' }),
        tf.layers.batchNormalization({
          center: false, gammaInitializer: 'randomNormal', movingVarianceInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 2 }),
          movingMeanInitializer: 'randomNormal',
        }),
        tf.layers.dense({ units: 3, activation: 'sigmoid' }),
        tf.layers.batchNormalization({ scale: false, movingMeanInitializer: 'randomNormal', betaInitializer: 'randomNormal' }),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const { modelJson, weightsBin } = await toFiles(tfModel);
    const model = await fromTfjs(modelJson, weightsBin, { backend });
    try {
      expect(model.layers.filter((l) => l.type === 'batchNormalization').map((l) => [l.center, l.scale]))
        .toEqual([[false, true], [true, false]]);
      const x = inputs(4, 2);
      expectClose(model.predict(x).data, tfPredict(tfModel, x), TOLERANCE, 'center: false / scale: false, vs tfjs');
      const again = model.toTfjs();
      const reloaded = await loadExport(again.modelJson, again.weightsBin);
      expect(tfWeights(reloaded)).toEqual(tfWeights(tfModel));
      reloaded.dispose();
    } finally {
      model.dispose();
      tfModel.dispose();
    }
  });

  it('refused, naming the layer: after the last activation, after a Dropout, with a regularizer', async () => {
    const cases: [tf.layers.Layer[], RegExp][] = [
      [[tf.layers.dense({ units: 2, inputShape: [3], activation: 'relu' }), tf.layers.batchNormalization({ name: 'bn_end' })],
        /layer 1 'bn_end' \(BatchNormalization\) after the last layer's activation is not supported/],
      [[tf.layers.dense({ units: 2, inputShape: [3] }), tf.layers.dropout({ rate: 0.1 }), tf.layers.batchNormalization({ name: 'bn_d' }), tf.layers.dense({ units: 1 })],
        /'bn_d' \(BatchNormalization\) must follow a Dense layer \(or its activation\), one per Dense layer, before any Dropout/],
      [[tf.layers.dense({ units: 2, inputShape: [3] }), tf.layers.batchNormalization({ name: 'bn_r', gammaRegularizer: tf.regularizers.l2() }), tf.layers.dense({ units: 1 })],
        /'bn_r' \(BatchNormalization\) has gamma_regularizer .* which simdnet does not support/],
    ];
    for (const [layers, message] of cases) {
      const tfModel = tf.sequential({ layers });
      const { modelJson, weightsBin } = await toFiles(tfModel);
      await expect(fromTfjs(modelJson, weightsBin, { backend })).rejects.toThrow(message);
      tfModel.dispose();
    }
  });
});

describe.each(BACKEND_NAMES)('BatchNormalization to TensorFlow.js (%s)', (backend) => {
  it('a simdnet model with it before and after activations, trained: TF.js predicts the same from the same weights', async () => {
    const model = await sequential({
      layers: [
        dense({ units: 7, inputShape: [5] }), batchNormalization({ momentum: 0.9 }), activation({ activation: 'leakyRelu', alpha: 0.2 }),
        dense({ units: 6, activation: 'elu' }), batchNormalization({ epsilon: 0.01, momentum: 0.7 }), dropout({ rate: 0.2 }),
        dense({ units: 4 }), batchNormalization({ center: false, momentum: 0.5 }), activation({ activation: 'softmax' }),
      ],
      backend, seed: 5,
    });
    try {
      model.compile({ loss: 'categoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.02 } });
      const x = inputs(5, 3);
      await model.fit(x, Array.from({ length: ROWS }, (_, i) => i % 4), { epochs: 4, batchSize: 5, seed: 1 });
      const { modelJson, weightsBin } = model.toTfjs();
      const json = JSON.parse(JSON.stringify(modelJson)) as TfjsModelJson;
      const tfModel = await loadExport(json, weightsBin);
      expect(tfModel.layers.map((l) => l.getClassName())).toEqual([
        'Dense', 'BatchNormalization', 'LeakyReLU', 'Dense', 'BatchNormalization', 'Dropout', 'Dense', 'BatchNormalization', 'Activation',
      ]);
      expect(json.modelTopology.config.layers[4].config).toMatchObject({ axis: -1, momentum: 0.7, epsilon: 0.01, center: true, scale: true });
      expect(tfWeights(tfModel)).toEqual(model.getWeights());
      // The manifest in tf.LayersModel.save's order: the moving statistics after every trainable weight.
      expect(json.weightsManifest[0].weights.map((w) => w.name).slice(-6)).toEqual([
        'batch_normalization_1/moving_mean', 'batch_normalization_1/moving_variance', 'batch_normalization_2/moving_mean',
        'batch_normalization_2/moving_variance', 'batch_normalization_3/moving_mean', 'batch_normalization_3/moving_variance',
      ]);
      expect(weightsBin.length).toBe(4 * model.countParams());
      expectClose(tfPredict(tfModel, x), model.predict(x).data, TOLERANCE, 'tfjs vs simdnet, BatchNormalization');
      tfModel.dispose();
    } finally {
      model.dispose();
    }
  });
});

describe.each(BACKEND_NAMES)('training with BatchNormalization as TF.js trains (%s)', (backend) => {
  /**
   * SGD with batch normalizations before and after activations; Adam with them after activations
   * only: before one, the dense layer's bias has a gradient of 0 up to float32 rounding (the batch
   * mean removes it), and Adam's normalised steps follow that rounding noise, in TF.js as here, so
   * the bias and the moving mean that carries it cannot be compared.
   */
  it.each(['sgd', 'adam'] as const)('%s from the same weights on the same batches: the same losses, weights and moving statistics', async (optimizer) => {
    const before = optimizer === 'sgd';
    const tfModel = tf.sequential({
      layers: [
        tf.layers.dense({ units: 8, inputShape: [4], ...(before ? {} : { activation: 'tanh' }) }),
        tf.layers.batchNormalization({ momentum: 0.9 }),
        ...(before ? [tf.layers.activation({ activation: 'tanh' })] : []),
        tf.layers.dense({ units: 6, activation: 'sigmoid' }),
        tf.layers.batchNormalization({ momentum: 0.8, epsilon: 0.01 }),
        tf.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    const { modelJson, weightsBin } = await toFiles(tfModel);
    const model = await fromTfjs(modelJson, weightsBin, { backend });
    try {
      const x = inputs(4, 4);
      const labels = oneHot(ROWS, 3);
      tfModel.compile({ loss: 'categoricalCrossentropy', optimizer: before ? tf.train.sgd(0.1) : tf.train.adam(0.01) });
      const tfHistory = await tfModel.fit(tf.tensor2d(x.data, x.shape), labels, { epochs: 3, batchSize: 5, shuffle: false, verbose: 0 });
      model.compile({ loss: 'categoricalCrossentropy', optimizer: before ? { type: 'sgd', learningRate: 0.1 } : { type: 'adam', learningRate: 0.01 } });
      const history = await model.fit(x, { data: labels.dataSync() as Float32Array, shape: [ROWS, 3] }, { epochs: 3, batchSize: 5, shuffle: false });
      expectClose(history.history.loss, tfHistory.history.loss as number[], { rtol: 1e-5, atol: 1e-6 }, 'epoch losses vs tfjs');
      // W, b, γ, β and the moving statistics after 12 steps.
      const want = tfWeights(tfModel);
      model.getWeights().forEach((w, i) => expectClose(w, want[i], { rtol: 1e-4, atol: 1e-5 }, `weight ${i} vs tfjs`));
      const xv = inputs(4, 5);
      expectClose(model.predict(xv).data, tfPredict(tfModel, xv), { rtol: 1e-4, atol: 1e-5 }, 'predictions after training');
    } finally {
      model.dispose();
      tfModel.dispose();
    }
  });
});
