/**
 * The TensorFlow.js Layers format: `model.json` ({ modelTopology, weightsManifest }) plus the
 * weights as one binary (float32, little-endian, concatenated in manifest order), which
 * `tf.loadLayersModel` reads. simdnet's W [n_in × n_out] row-major is exactly a tfjs Dense kernel
 * of shape [n_in, n_out], so weights move across as they are.
 *
 * tfjs has no 'leakyRelu' activation string: a simdnet leakyRelu layer is written as a linear
 * Dense followed by a LeakyReLU layer, and that pair (or a Dense followed by an Activation, ReLU
 * or Softmax layer) is read back as one dense layer.
 */
import { describeValue, isPlainObject, SimdnetError } from '../errors.js';
import { dense, type DenseLayer, type KernelInitializer } from '../layers.js';
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

const TFJS_ACTIVATIONS: Record<string, ActivationName> = { linear: 'linear', sigmoid: 'sigmoid', tanh: 'tanh', relu: 'relu', softmax: 'softmax' };

const INITIALIZERS: Record<KernelInitializer, TfjsLayerJson> = {
  heNormal: { class_name: 'VarianceScaling', config: { scale: 2, mode: 'fan_in', distribution: 'normal', seed: null } },
  glorotUniform: { class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_avg', distribution: 'uniform', seed: null } },
  smallRandom: { class_name: 'RandomNormal', config: { mean: 0, stddev: 0.01, seed: null } },
  zeros: { class_name: 'Zeros', config: {} },
};

/** `weights` is [W1, b1, W2, b2, …] as getWeights() returns them. */
export function encodeTfjs(layers: readonly DenseLayer[], inputUnits: number, weights: readonly Float32Array[]): TfjsModel {
  const topology: TfjsLayerJson[] = [];
  const specs: TfjsWeightSpec[] = [];
  let fanIn = inputUnits;
  layers.forEach((layer, l) => {
    const name = `dense_${l + 1}`;
    const leaky = layer.activation === 'leakyRelu';
    topology.push({
      class_name: 'Dense',
      config: {
        units: layer.units,
        activation: leaky ? 'linear' : layer.activation,
        use_bias: true,
        kernel_initializer: INITIALIZERS[layer.kernelInitializer],
        bias_initializer: { class_name: 'Zeros', config: {} },
        kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null,
        kernel_constraint: null, bias_constraint: null,
        name,
        trainable: true,
        ...(l === 0 ? { batch_input_shape: [null, inputUnits] } : {}),
        dtype: 'float32',
      },
    });
    if (leaky) topology.push({ class_name: 'LeakyReLU', config: { alpha: layer.alpha, name: `leaky_re_lu_${l + 1}`, trainable: true, dtype: 'float32' } });
    specs.push({ name: `${name}/kernel`, shape: [fanIn, layer.units], dtype: 'float32' });
    specs.push({ name: `${name}/bias`, shape: [layer.units], dtype: 'float32' });
    fanIn = layer.units;
  });
  const weightsBin = new Uint8Array(4 * weights.reduce((n, w) => n + w.length, 0));
  let at = 0;
  for (const w of weights) {
    writeFloat32LE(weightsBin, at, w);
    at += 4 * w.length;
  }
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: 'simdnet',
      convertedBy: null,
      modelTopology: { class_name: 'Sequential', config: { name: 'sequential', layers: topology }, keras_version: 'simdnet', backend: 'tensor_flow.js' },
      weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: specs }],
    },
    weightsBin,
  };
}

/** A dense layer as read from the topology, before its weights are found. */
interface PendingDense {
  name: string;
  units: number;
  activation: ActivationName;
  alpha: number;
  useBias: boolean;
  /** The layer's name and class as the error messages give it. */
  label: string;
}

export function decodeTfjs(where: string, modelJson: unknown, weightsBin: Uint8Array): { layers: DenseLayer[]; weights: Float32Array[] } {
  const fail: Fail = (what, arg = 'modelJson') => new SimdnetError(arg, `${where}: ${what}`);
  const json = parseModelJson(where, modelJson);
  const { denses, inputUnits: declaredInput } = readTopology(json, fail);
  const specs = readManifest(json, weightsBin.length, fail);
  const find = (name: string): WeightEntry | undefined => specs.get(name) ?? [...specs.entries()].find(([k]) => k.endsWith(`/${name}`))?.[1];

  // The input width: declared on the first layer (or an InputLayer), else the first kernel's rows.
  const firstKernel = find(`${denses[0].name}/kernel`);
  const inputUnits = declaredInput ?? firstKernel?.shape[0];
  if (inputUnits === undefined) throw fail(`the model does not say its input width: no batch_input_shape and no weight ${denses[0].name}/kernel`);
  const sizes = checkSizes(inputUnits, denses.map((d) => d.units));
  if ('problem' in sizes) throw fail(`the model has ${sizes.problem}`);

  const weights: Float32Array[] = [];
  let fanIn = inputUnits;
  for (const d of denses) {
    weights.push(readWeight(find(`${d.name}/kernel`), `${d.name}/kernel`, [fanIn, d.units], d.label, weightsBin, fail));
    weights.push(d.useBias ? readWeight(find(`${d.name}/bias`), `${d.name}/bias`, [d.units], d.label, weightsBin, fail) : new Float32Array(d.units));
    fanIn = d.units;
  }
  const layers = denses.map((d, l) => {
    try {
      return dense({ units: d.units, activation: d.activation, alpha: d.alpha, ...(l === 0 ? { inputShape: [inputUnits] as [number] } : {}) });
    } catch (err) {
      throw err instanceof SimdnetError ? fail(`${d.label}: ${err.message.replace(/^dense\(\): /, '')}`) : err;
    }
  });
  return { layers, weights };
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
  if (layers.length > 2 * MODEL_LIMITS.maxLayers + 1) throw fail(`the model has ${layers.length} layers, more than the limit of ${MODEL_LIMITS.maxLayers} dense layers`);
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
      const plain = (cfg.max_value ?? null) === null && (cfg.threshold ?? 0) === 0;
      const slope = cfg.negative_slope ?? 0;
      if (!plain || typeof slope !== 'number' || !Number.isFinite(slope)) {
        throw fail(`${label} with max_value or threshold set is not supported; simdnet has relu and leakyRelu`);
      }
      return slope === 0 ? { activation: 'relu', alpha: 0.01 } : { activation: 'leakyRelu', alpha: slope };
    }
    case 'Softmax':
      if (cfg.axis !== undefined && cfg.axis !== -1 && cfg.axis !== 1 && !(Array.isArray(cfg.axis) && cfg.axis.length === 1 && cfg.axis[0] === -1)) {
        throw fail(`${label} with axis ${describeValue(cfg.axis)} is not supported; simdnet's softmax is over the units`);
      }
      return { activation: 'softmax', alpha: 0.01 };
    default:
      throw fail(
        `${label} is not supported: simdnet imports Sequential models of Dense layers, each optionally ` +
          'followed by an Activation, ReLU, LeakyReLU or Softmax layer',
      );
  }
}

/** simdnet's dense layers have one activation each: an activation layer sets that of a linear Dense before it. */
function foldActivation(previous: PendingDense | undefined, act: { activation: ActivationName; alpha: number }, label: string, fail: Fail): void {
  if (previous === undefined || previous.activation !== 'linear') {
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
  return { name, units: units as number, activation: readActivation(cfg.activation, label, fail), alpha: 0.01, useBias, label };
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
