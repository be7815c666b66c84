/**
 * The TensorFlow.js Layers format: `model.json` ({ modelTopology, weightsManifest }) plus the
 * weights as one binary (float32, little-endian, concatenated in manifest order), which
 * `tf.loadLayersModel` reads. simdnet's W [n_in × n_out] row-major is exactly a tfjs Dense kernel
 * of shape [n_in, n_out], so weights move across as they are.
 *
 * tfjs has no 'leakyRelu' activation string: a simdnet leakyRelu layer is written as a linear
 * Dense followed by a LeakyReLU layer, and that pair (or a Dense followed by an Activation, ReLU
 * or Softmax layer) is read back as one dense layer. A BatchNormalization layer moves both ways as
 * simdnet's batchNormalization layer, with its weights gamma, beta, moving_mean and
 * moving_variance (TF.js' order, the one getWeights() returns).
 */
import { describeValue, isPlainObject, SimdnetError } from '../errors.js';
import {
  activation, batchNormalization, dense, dropout, type BatchNormalizationLayer, type DenseLayer, type KernelInitializer, type Layer,
} from '../layers.js';
import type { ActivationName } from '../backend/backend.js';
import { firstNonFinite, readFloat32LE, writeFloat32LE } from './bytes.js';
import { checkSizes, MODEL_LIMITS } from './limits.js';

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

/** A `model.json` as tf.loadLayersModel reads it. */
export interface TfjsModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: null;
  modelTopology: { class_name: 'Sequential'; config: { name: string; layers: TfjsLayerJson[] }; keras_version: string; backend: string };
  weightsManifest: { paths: string[]; weights: TfjsWeightSpec[] }[];
}

export interface TfjsLayerJson {
  class_name: string;
  config: Record<string, unknown>;
}

/** A model in the TensorFlow.js Layers format: write modelJson as `model.json`, weightsBin beside it. */
export interface TfjsModel {
  modelJson: TfjsModelJson;
  weightsBin: Uint8Array<ArrayBuffer>;
}

/** The file name the manifest gives the weights. */
export const TFJS_WEIGHTS_FILE = 'weights.bin';

const TFJS_ACTIVATIONS: Record<string, ActivationName> = {
  linear: 'linear', sigmoid: 'sigmoid', tanh: 'tanh', relu: 'relu', softmax: 'softmax',
  elu: 'elu', selu: 'selu', softplus: 'softplus', swish: 'swish', gelu: 'gelu', relu6: 'relu6',
  // Keras 3 names swish 'silu'; its 'gelu' is the exact one unless approximate is set (then it is
  // serialised as a config, which readActivation refuses).
  silu: 'swish',
};

const INITIALIZERS: Record<KernelInitializer, TfjsLayerJson> = {
  heNormal: { class_name: 'VarianceScaling', config: { scale: 2, mode: 'fan_in', distribution: 'normal', seed: null } },
  glorotUniform: { class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_avg', distribution: 'uniform', seed: null } },
  smallRandom: { class_name: 'RandomNormal', config: { mean: 0, stddev: 0.01, seed: null } },
  zeros: { class_name: 'Zeros', config: {} },
};

/**
 * `weights` is [W1, b1, (γ1, β1, moving mean 1, moving variance 1,) W2, b2, …] as getWeights()
 * returns them. The manifest lists them as tf.LayersModel.save does: the trainable weights of every
 * layer first, then the non-trainable ones (the moving statistics).
 */
export function encodeTfjs(layers: readonly Layer[], inputUnits: number, weights: readonly Float32Array[]): TfjsModel {
  const topology: TfjsLayerJson[] = [];
  const specs: TfjsWeightSpec[] = [];
  let fanIn = inputUnits;
  let dense = 0;
  let norms = 0;
  layers.forEach((layer, i) => {
    if (layer.type === 'batchNormalization') {
      const name = `batch_normalization_${++norms}`;
      topology.push(batchNormJson(layer, name));
      const kinds = [...(layer.scale ? ['gamma'] : []), ...(layer.center ? ['beta'] : []), 'moving_mean', 'moving_variance'];
      for (const kind of kinds) specs.push({ name: `${name}/${kind}`, shape: [fanIn], dtype: 'float32' });
    } else if (layer.type === 'dropout') {
      topology.push({ class_name: 'Dropout', config: { rate: layer.rate, noise_shape: null, seed: layer.seed ?? null, name: `dropout_${i + 1}`, trainable: true, dtype: 'float32' } });
    } else if (layer.type === 'activation') {
      topology.push(activationLayerJson(layer.activation, layer.alpha, `l${i + 1}`));
    } else {
      const name = `dense_${++dense}`;
      topology.push(denseJson(layer, name, dense === 1 ? inputUnits : undefined));
      if (layer.activation === 'leakyRelu') topology.push(activationLayerJson('leakyRelu', layer.alpha, dense));
      specs.push({ name: `${name}/kernel`, shape: [fanIn, layer.units], dtype: 'float32' });
      specs.push({ name: `${name}/bias`, shape: [layer.units], dtype: 'float32' });
      fanIn = layer.units;
    }
  });
  const moving = (spec: TfjsWeightSpec): boolean => /\/moving_(mean|variance)$/.test(spec.name);
  const order = [...specs.keys()].sort((a, b) => Number(moving(specs[a])) - Number(moving(specs[b])) || a - b);
  const weightsBin = new Uint8Array(4 * weights.reduce((n, w) => n + w.length, 0));
  let at = 0;
  for (const k of order) {
    writeFloat32LE(weightsBin, at, weights[k]);
    at += 4 * weights[k].length;
  }
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: 'simdnet',
      convertedBy: null,
      modelTopology: { class_name: 'Sequential', config: { name: 'sequential', layers: topology }, keras_version: 'simdnet', backend: 'tensor_flow.js' },
      weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: order.map((k) => specs[k]) }],
    },
    weightsBin,
  };
}

function denseJson(layer: DenseLayer, name: string, inputUnits: number | undefined): TfjsLayerJson {
  return {
    class_name: 'Dense',
    config: {
      units: layer.units,
      activation: layer.activation === 'leakyRelu' ? 'linear' : layer.activation,
      use_bias: true,
      kernel_initializer: INITIALIZERS[layer.kernelInitializer],
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: layer.kernelRegularizer ? { class_name: 'L1L2', config: { ...layer.kernelRegularizer } } : null,
      bias_regularizer: null, activity_regularizer: null,
      kernel_constraint: null, bias_constraint: null,
      name,
      trainable: true,
      ...(inputUnits === undefined ? {} : { batch_input_shape: [null, inputUnits] }),
      dtype: 'float32',
    },
  };
}

/** A BatchNormalization layer as tf.layers.batchNormalization writes it (its initializers the defaults). */
function batchNormJson(layer: BatchNormalizationLayer, name: string): TfjsLayerJson {
  const init = (className: string): TfjsLayerJson => ({ class_name: className, config: {} });
  return {
    class_name: 'BatchNormalization',
    config: {
      axis: -1, momentum: layer.momentum, epsilon: layer.epsilon, center: layer.center, scale: layer.scale,
      beta_initializer: init('Zeros'), gamma_initializer: init('Ones'),
      moving_mean_initializer: init('Zeros'), moving_variance_initializer: init('Ones'),
      beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null,
      name, trainable: true, dtype: 'float32',
    },
  };
}

/** tfjs has no 'leakyRelu' activation string: a LeakyReLU layer; every other one an Activation layer. */
function activationLayerJson(act: ActivationName, alpha: number, k: number | string): TfjsLayerJson {
  if (act === 'leakyRelu') return { class_name: 'LeakyReLU', config: { alpha, name: `leaky_re_lu_${k}`, trainable: true, dtype: 'float32' } };
  return { class_name: 'Activation', config: { activation: act, name: `activation_${k}`, trainable: true, dtype: 'float32' } };
}

interface PendingNorm {
  name: string;
  /** Right after the Dense layer's linear product ('pre', before its activation), or after its activation ('post'). */
  position: 'pre' | 'post';
  layer: BatchNormalizationLayer;
  label: string;
}

/** A dense layer as read from the topology, before its weights are found. */
interface PendingDense {
  name: string;
  units: number;
  activation: ActivationName;
  alpha: number;
  useBias: boolean;
  regularizer?: { l1: number; l2: number };
  /** A Dropout layer after it. */
  dropout?: { rate: number; seed?: number };
  /** A BatchNormalization layer after it. */
  norm?: PendingNorm;
  /** The layer's name and class as the error messages give it. */
  label: string;
}

export function decodeTfjs(where: string, modelJson: unknown, weightsBin: Uint8Array): { layers: Layer[]; weights: Float32Array[] } {
  const fail: Fail = (what, arg = 'modelJson') => new SimdnetError(arg, `${where}: ${what}`);
  const json = parseModelJson(where, modelJson);
  const { denses, inputUnits: declaredInput } = readTopology(json, fail);
  const specs = readManifest(json, weightsBin.length, fail);
  const find = (name: string): WeightEntry | undefined => specs.get(name) ?? [...specs.entries()].find(([k]) => k.endsWith(`/${name}`))?.[1];

  // The input width: declared on the first layer (or an InputLayer), else the first kernel's rows.
  const firstKernel = find(`${denses[0].name}/kernel`);
  const inputUnits = declaredInput ?? firstKernel?.shape[0];
  if (inputUnits === undefined) throw fail(`the model does not say its input width: no batch_input_shape and no weight ${denses[0].name}/kernel`);
  const normWeights = denses.map((d) => (d.norm ? d.units * (2 + (d.norm.layer.scale ? 1 : 0) + (d.norm.layer.center ? 1 : 0)) : 0));
  const sizes = checkSizes(inputUnits, denses.map((d) => d.units), normWeights);
  if ('problem' in sizes) throw fail(`the model has ${sizes.problem}`);

  const weights: Float32Array[] = [];
  let fanIn = inputUnits;
  for (const d of denses) {
    weights.push(readWeight(find(`${d.name}/kernel`), `${d.name}/kernel`, [fanIn, d.units], d.label, weightsBin, fail));
    weights.push(d.useBias ? readWeight(find(`${d.name}/bias`), `${d.name}/bias`, [d.units], d.label, weightsBin, fail) : new Float32Array(d.units));
    if (d.norm) weights.push(...readNorm(d.norm, d.units, find, weightsBin, fail));
    fanIn = d.units;
  }
  const layers = denses.flatMap((d, l): Layer[] => {
    try {
      return layersOf(d, l === 0 ? inputUnits : undefined);
    } catch (err) {
      throw err instanceof SimdnetError ? fail(`${d.label}: ${err.message.replace(/^(dense|dropout|activation|batchNormalization)\(\): /, '')}`) : err;
    }
  });
  return { layers, weights };
}

/** simdnet's layers for a Dense layer and what followed it, in their order. */
function layersOf(d: PendingDense, inputUnits: number | undefined): Layer[] {
  const pre = d.norm?.position === 'pre';
  const out: Layer[] = [dense({
    units: d.units, activation: pre ? 'linear' : d.activation, alpha: d.alpha,
    ...(inputUnits === undefined ? {} : { inputShape: [inputUnits] as [number] }),
    ...(d.regularizer ? { kernelRegularizer: d.regularizer } : {}),
  })];
  if (d.norm) out.push(d.norm.layer);
  if (pre && d.activation !== 'linear') out.push(activation({ activation: d.activation, alpha: d.alpha }));
  if (d.dropout) out.push(dropout(d.dropout));
  return out;
}

function parseModelJson(where: string, value: unknown): Record<string, unknown> {
  let json = value;
  if (typeof value === 'string') {
    if (value.length > MODEL_LIMITS.maxHeaderBytes) {
      throw new SimdnetError('modelJson', `${where}: modelJson is ${value.length} characters long, more than the limit of ${MODEL_LIMITS.maxHeaderBytes}`);
    }
    try {
      json = JSON.parse(value);
    } catch {
      throw new SimdnetError('modelJson', `${where}: modelJson must be the JSON text of a TensorFlow.js model.json, but it does not parse`);
    }
  }
  if (!isPlainObject(json) || !isPlainObject(json.modelTopology)) {
    throw new SimdnetError('modelJson', `${where}: modelJson must be a TensorFlow.js model.json with a modelTopology, got ${describeValue(json)}`);
  }
  return json;
}

function readTopology(json: Record<string, unknown>, fail: Fail): { denses: PendingDense[]; inputUnits?: number } {
  const layers = topologyLayers(json, fail);
  const denses: PendingDense[] = [];
  let inputUnits: number | undefined;
  layers.forEach((layer: unknown, i) => {
    const cls = isPlainObject(layer) && typeof layer.class_name === 'string' ? layer.class_name : undefined;
    const cfg = isPlainObject(layer) && isPlainObject(layer.config) ? layer.config : undefined;
    if (cls === undefined || cfg === undefined) throw fail(`layer ${i} must be { class_name, config }, got ${describeValue(layer)}`);
    const label = `layer ${i} ${typeof cfg.name === 'string' ? `'${cfg.name.slice(0, 60)}' ` : ''}(${cls.slice(0, 40)})`;
    if (cfg.dtype !== undefined && cfg.dtype !== null && cfg.dtype !== 'float32' && !isPlainObject(cfg.dtype)) {
      throw fail(`${label} has dtype ${describeValue(cfg.dtype)}; simdnet imports float32 models only`);
    }
    const shape = cfg.batch_input_shape ?? cfg.batch_shape;
    if (shape !== undefined && shape !== null) {
      if (denses.length > 0) throw fail(`${label} declares an input shape but is not the first layer`);
      inputUnits = readInputShape(shape, label, fail);
    }
    if (cls === 'InputLayer') {
      if (i !== 0) throw fail(`${label} must be the first layer`);
      if (shape === undefined || shape === null) throw fail(`${label} has no batch_input_shape`);
    } else if (cls === 'Dense') {
      denses.push(readDense(cfg, label, fail));
    } else if (cls === 'Dropout') {
      readDropout(denses.at(-1), cfg, label, fail);
    } else if (cls === 'BatchNormalization') {
      readBatchNorm(denses.at(-1), cfg, label, i === layers.length - 1, fail);
    } else {
      foldActivation(denses.at(-1), readActivationLayer(cls, cfg, label, fail), label, fail);
    }
  });
  if (denses.length === 0) throw fail('the model has no Dense layer');
  return { denses, inputUnits };
}

/** The layer list of a Sequential topology, as tfjs or the Python converter writes it. */
function topologyLayers(json: Record<string, unknown>, fail: Fail): unknown[] {
  const raw = json.modelTopology as Record<string, unknown>;
  // The Python converter nests the model under model_config; tfjs writes it at the top.
  const topology = isPlainObject(raw.model_config) ? raw.model_config : raw;
  if (topology.class_name !== 'Sequential') {
    throw fail(`only Sequential models can be imported, but this one is ${describeValue(topology.class_name)}`);
  }
  const config = topology.config;
  const layers: unknown = Array.isArray(config) ? config : isPlainObject(config) ? config.layers : undefined;
  if (!Array.isArray(layers) || layers.length === 0) throw fail('modelTopology.config.layers must be a non-empty array of layers');
  if (layers.length > 3 * MODEL_LIMITS.maxLayers + 1) throw fail(`the model has ${layers.length} layers, more than the limit of ${MODEL_LIMITS.maxLayers} dense layers`);
  return layers as unknown[];
}

/** An activation layer's function, to be folded into the Dense layer before it. */
function readActivationLayer(cls: string, cfg: Record<string, unknown>, label: string, fail: Fail): { activation: ActivationName; alpha: number } {
  switch (cls) {
    case 'Activation':
      return { activation: readActivation(cfg.activation, label, fail), alpha: 0.01 };
    case 'LeakyReLU': {
      // tfjs and Keras 2 call the slope alpha, Keras 3 negative_slope; both default to 0.3.
      const alpha = cfg.alpha ?? cfg.negative_slope ?? 0.3;
      if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw fail(`${label} has alpha ${describeValue(alpha)}, not a finite number`);
      return { activation: 'leakyRelu', alpha };
    }
    case 'ReLU': {
      const max = cfg.max_value ?? null;
      const slope = cfg.negative_slope ?? 0;
      const plain = (max === null || max === 6) && (cfg.threshold ?? 0) === 0 && (max === null || slope === 0);
      if (!plain || typeof slope !== 'number' || !Number.isFinite(slope)) {
        throw fail(`${label} with a threshold or a max_value other than 6 is not supported; simdnet has relu, relu6 and leakyRelu`);
      }
      if (max === 6) return { activation: 'relu6', alpha: 0.01 };
      return slope === 0 ? { activation: 'relu', alpha: 0.01 } : { activation: 'leakyRelu', alpha: slope };
    }
    case 'ELU':
      if ((cfg.alpha ?? 1) !== 1) throw fail(`${label} has alpha ${describeValue(cfg.alpha)}; simdnet's elu has alpha 1`);
      return { activation: 'elu', alpha: 0.01 };
    case 'Softmax':
      if (cfg.axis !== undefined && cfg.axis !== -1 && cfg.axis !== 1 && !(Array.isArray(cfg.axis) && cfg.axis.length === 1 && cfg.axis[0] === -1)) {
        throw fail(`${label} with axis ${describeValue(cfg.axis)} is not supported; simdnet's softmax is over the units`);
      }
      return { activation: 'softmax', alpha: 0.01 };
    default:
      throw fail(
        `${label} is not supported: simdnet imports Sequential models of Dense layers, each optionally ` +
          'followed by an Activation, ReLU, LeakyReLU, ELU or Softmax layer',
      );
  }
}

/**
 * A BatchNormalization layer, kept with the Dense layer before it: 'pre' when it directly follows
 * that layer's linear product (an activation layer may follow it), 'post' after its activation.
 */
function readBatchNorm(previous: PendingDense | undefined, cfg: Record<string, unknown>, label: string, last: boolean, fail: Fail): void {
  if (previous === undefined || previous.dropout !== undefined || previous.norm !== undefined) {
    throw fail(`${label} must follow a Dense layer (or its activation), one per Dense layer, before any Dropout`);
  }
  const { axis = -1, momentum = 0.99, epsilon = 1e-3, center = true, scale = true, name } = cfg;
  const axisOk = axis === -1 || axis === 1 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === 1));
  if (!axisOk) throw fail(`${label} normalizes axis ${describeValue(axis)}; simdnet's layers have one, the units`);
  if (typeof name !== 'string' || name.length === 0) throw fail(`${label} has no name, which its weights are found by`);
  for (const key of ['beta_regularizer', 'gamma_regularizer', 'beta_constraint', 'gamma_constraint', 'renorm', 'virtual_batch_size']) {
    if (cfg[key] !== undefined && cfg[key] !== null && cfg[key] !== false) throw fail(`${label} has ${key} ${describeValue(cfg[key])}, which simdnet does not support`);
  }
  let layer: BatchNormalizationLayer;
  try {
    layer = batchNormalization({ momentum: momentum as number, epsilon: epsilon as number, center: center as boolean, scale: scale as boolean });
  } catch (err) {
    throw err instanceof SimdnetError ? fail(`${label}: ${err.message.replace(/^batchNormalization\(\): config\./, '')}`) : err;
  }
  const position = previous.activation === 'linear' && !previous.label.includes(' + ') ? 'pre' : 'post';
  if (position === 'post' && last) throw fail(`${label} after the last layer's activation is not supported: the loss reads that activation`);
  previous.norm = { name, position, layer, label };
  previous.label += ` + ${label}`;
}

/** A BatchNormalization layer's weights, in getWeights() order: γ (scale), β (center), moving mean, moving variance. */
function readNorm(norm: PendingNorm, units: number, find: (name: string) => WeightEntry | undefined, bin: Uint8Array, fail: Fail): Float32Array[] {
  const get = (what: string): Float32Array => readWeight(find(`${norm.name}/${what}`), `${norm.name}/${what}`, [units], norm.label, bin, fail);
  const variance = get('moving_variance');
  const bad = variance.findIndex((v) => !(v >= 0));
  if (bad >= 0) throw fail(`${norm.label}: moving_variance[${bad}] is ${variance[bad]}, but a variance cannot be negative`, 'weightsBin');
  return [...(norm.layer.scale ? [get('gamma')] : []), ...(norm.layer.center ? [get('beta')] : []), get('moving_mean'), variance];
}

/** A Dropout layer, kept with the Dense layer before it (simdnet's dropout follows a dense layer). */
function readDropout(previous: PendingDense | undefined, cfg: Record<string, unknown>, label: string, fail: Fail): void {
  if (previous === undefined || previous.dropout !== undefined) throw fail(`${label} must follow a Dense layer`);
  const { rate, seed = null, noise_shape: noiseShape = null } = cfg;
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) throw fail(`${label} has rate ${describeValue(rate)}, not a number in [0, 1)`);
  if (noiseShape !== null) throw fail(`${label} has a noise_shape; simdnet drops each output on its own`);
  if (seed !== null && !Number.isSafeInteger(seed)) throw fail(`${label} has seed ${describeValue(seed)}, not an integer`);
  previous.dropout = { rate, ...(seed === null ? {} : { seed: (seed as number) | 0 }) };
  previous.label += ` + ${label}`;
}

/** simdnet's dense layers have one activation each: an activation layer sets that of a linear Dense before it. */
function foldActivation(previous: PendingDense | undefined, act: { activation: ActivationName; alpha: number }, label: string, fail: Fail): void {
  if (previous === undefined || previous.activation !== 'linear' || previous.dropout !== undefined || previous.norm?.position === 'post') {
    throw fail(`${label} must follow a Dense layer with a linear activation: simdnet's dense layers have one activation each`);
  }
  previous.activation = act.activation;
  previous.alpha = act.alpha;
  previous.label += ` + ${label}`;
}

function readInputShape(shape: unknown, label: string, fail: Fail): number {
  if (!Array.isArray(shape) || shape.length !== 2) {
    throw fail(`${label} takes inputs of shape ${describeValue(shape)}; simdnet's dense layers take [batch, features]`);
  }
  const n: unknown = shape[1];
  if (!Number.isSafeInteger(n) || (n as number) < 1) throw fail(`${label} has input shape ${JSON.stringify(shape)}, not [null, features]`);
  return n as number;
}

function readDense(cfg: Record<string, unknown>, label: string, fail: Fail): PendingDense {
  const { units, use_bias: useBias = true, name } = cfg;
  if (!Number.isSafeInteger(units) || (units as number) < 1) throw fail(`${label} has units ${describeValue(units)}, not a positive integer`);
  if (typeof useBias !== 'boolean') throw fail(`${label} has use_bias ${describeValue(useBias)}, not true or false`);
  if (typeof name !== 'string' || name.length === 0) throw fail(`${label} has no name, which its weights are found by`);
  const regularizer = readRegularizer(cfg.kernel_regularizer, label, fail);
  return {
    name, units: units as number, activation: readActivation(cfg.activation, label, fail), alpha: 0.01, useBias, label,
    ...(regularizer ? { regularizer } : {}),
  };
}

/** A kernel_regularizer: tfjs' and Keras' L1L2, or Keras' L1 and L2. */
function readRegularizer(value: unknown, label: string, fail: Fail): { l1: number; l2: number } | undefined {
  if (value === undefined || value === null) return undefined;
  const cls = isPlainObject(value) ? value.class_name : undefined;
  const cfg = isPlainObject(value) && isPlainObject(value.config) ? value.config : undefined;
  if ((cls !== 'L1L2' && cls !== 'L1' && cls !== 'L2') || cfg === undefined) {
    throw fail(`${label} has kernel_regularizer ${describeValue(value)}; simdnet imports L1L2, L1 and L2`);
  }
  const l1 = cls === 'L2' ? 0 : cfg.l1 ?? 0;
  const l2 = cls === 'L1' ? 0 : cfg.l2 ?? 0;
  if (typeof l1 !== 'number' || typeof l2 !== 'number') throw fail(`${label} has kernel_regularizer factors ${describeValue(cfg)}, not numbers`);
  return { l1, l2 };
}

function readActivation(value: unknown, label: string, fail: Fail): ActivationName {
  // Keras 3 may serialise an activation as { class_name, config } around its name.
  const name = value === undefined || value === null ? 'linear' : isPlainObject(value) && isPlainObject(value.config) ? value.config.name : value;
  if (typeof name === 'string' && Object.hasOwn(TFJS_ACTIVATIONS, name)) return TFJS_ACTIVATIONS[name];
  throw fail(`${label} has activation ${describeValue(name)}, which simdnet does not have; supported: ${Object.keys(TFJS_ACTIVATIONS).join(', ')} (and LeakyReLU layers)`);
}

/** Makes the error for a problem with an argument (modelJson unless said). */
type Fail = (what: string, arg?: string) => SimdnetError;

interface WeightEntry {
  shape: number[];
  /** Byte offset in the weights binary. */
  at: number;
}

/** Every weight's shape and byte offset; checks the dtypes and that the sizes add up to the binary's. */
function readManifest(json: Record<string, unknown>, binBytes: number, fail: Fail): Map<string, WeightEntry> {
  const groups = Array.isArray(json.weightsManifest)
    ? json.weightsManifest.map((g: unknown) => (isPlainObject(g) ? g.weights : undefined))
    : Array.isArray(json.weightSpecs) ? [json.weightSpecs] : undefined;
  if (groups === undefined || !groups.every(Array.isArray)) throw fail('modelJson must have a weightsManifest: [{ paths, weights: [...] }]');
  const out = new Map<string, WeightEntry>();
  let at = 0;
  for (const spec of (groups as unknown[][]).flat()) {
    if (!isPlainObject(spec) || typeof spec.name !== 'string' || !Array.isArray(spec.shape)) {
      throw fail(`weightsManifest entries must be { name, shape, dtype }, got ${describeValue(spec)}`);
    }
    const { name, shape, dtype } = spec;
    if (dtype !== 'float32') throw fail(`weight '${name.slice(0, 80)}' has dtype ${describeValue(dtype)}; simdnet imports float32 weights only`);
    if (spec.quantization !== undefined) throw fail(`weight '${name.slice(0, 80)}' is quantized; export the model without quantization`);
    let size = 1;
    for (const d of shape) {
      if (!Number.isSafeInteger(d) || (d as number) < 0 || (d as number) > MODEL_LIMITS.maxParams) {
        throw fail(`weight '${name.slice(0, 80)}' has shape ${describeValue(shape)}, not a list of sizes within the limits`);
      }
      size *= d as number;
      if (size > MODEL_LIMITS.maxParams) throw fail(`weight '${name.slice(0, 80)}' has ${size} values or more, more than the limit of ${MODEL_LIMITS.maxParams}`);
    }
    out.set(name, { shape: shape as number[], at });
    at += 4 * size;
    if (at > binBytes) break; // reported just below, before any later entry can add up further
  }
  if (at !== binBytes) {
    throw fail(`weightsBin holds ${binBytes} bytes, but the weightsManifest describes ${at}${at > binBytes ? ' or more' : ''}`, 'weightsBin');
  }
  return out;
}

function readWeight(
  entry: WeightEntry | undefined, name: string, shape: number[], label: string, bin: Uint8Array, fail: Fail,
): Float32Array {
  if (entry === undefined) throw fail(`${label}: the weightsManifest has no weight ${name}`);
  if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
    throw fail(`${label}: weight ${name} has shape [${entry.shape.join(', ')}], where the layers need [${shape.join(', ')}]`);
  }
  const values = readFloat32LE(bin, entry.at, shape.reduce((a, b) => a * b, 1));
  const bad = firstNonFinite(values);
  if (bad >= 0) throw fail(`${label}: weight ${name}[${bad}] is ${values[bad]}; every weight must be finite`, 'weightsBin');
  return values;
}
