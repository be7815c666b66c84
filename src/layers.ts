/**
 * Dense layers: the public config (`dense()`), its validation, the resolved per-layer spec the
 * model runs on, and the weight initialisers.
 */
import { ACTIVATION, ACTIVATION_NAMES, type ActivationCode, type ActivationName } from './backend/backend.js';
import { checkKeys, invalid, isPlainObject, isPositiveInteger, SimdnetError } from './errors.js';
import type { Random } from './random.js';
import { sharedNumbers } from './scalars.js';

export type KernelInitializer = 'heNormal' | 'glorotUniform' | 'smallRandom' | 'zeros';
export const KERNEL_INITIALIZERS: readonly KernelInitializer[] = ['heNormal', 'glorotUniform', 'smallRandom', 'zeros'];

export interface DenseConfig {
  units: number;
  /** Default 'linear'. */
  activation?: ActivationName;
  /** leakyRelu's negative slope; default 0.01. */
  alpha?: number;
  /** Features per sample; required on the first layer, optional (and checked) on later ones. */
  inputShape?: readonly [number];
  /** Default heNormal for the relu family (relu, leakyRelu, relu6, elu, swish, gelu), glorotUniform otherwise. */
  kernelInitializer?: KernelInitializer;
  /**
   * Keras' L1L2 on the kernel W (not the bias): l1·Σ|W| + l2·ΣW² is added to the loss that fit and
   * evaluate report, and its gradient l1·sign(W) + 2·l2·W to dW. Default none.
   */
  kernelRegularizer?: KernelRegularizer;
}

export interface KernelRegularizer {
  /** Default 0. */
  l1?: number;
  /** Default 0. */
  l2?: number;
}

/** A dense layer's config with every default filled in (what `model.layers` holds). */
export interface DenseLayer {
  readonly type: 'dense';
  readonly units: number;
  readonly activation: ActivationName;
  readonly alpha: number;
  readonly inputShape?: readonly [number];
  readonly kernelInitializer: KernelInitializer;
  /** Present only when the config gave one. */
  readonly kernelRegularizer?: Readonly<Required<KernelRegularizer>>;
}

/** What the model runs on: a layer with its input width known and its activation as a kernel code. */
export interface LayerSpec {
  readonly inputUnits: number;
  readonly units: number;
  readonly activation: ActivationName;
  readonly code: ActivationCode;
  readonly alpha: number;
  readonly kernelInitializer: KernelInitializer;
  /** The kernel regularizer's factors (0 and 0 for none). */
  readonly l1: number;
  readonly l2: number;
  /** The rate of a dropout layer after this one (0 for none), and its own seed (null: the model's). */
  readonly dropout: number;
  readonly dropoutSeed: number | null;
}

const DENSE_KEYS = ['type', 'units', 'activation', 'alpha', 'inputShape', 'kernelInitializer', 'kernelRegularizer'];
const DEFAULT_ALPHA = 0.01;
/** Activations that are the identity, or nearly, for z > 0 and flat below: He et al.'s variance 2/n_in suits them. */
const HE_NORMAL_DEFAULT: readonly ActivationName[] = ['relu', 'leakyRelu', 'relu6', 'elu', 'swish', 'gelu'];

/** A fully-connected layer: Z = X·W + b, A = g(Z), with W [inputUnits × units]. */
export function dense(config: DenseConfig): DenseLayer {
  return checkDense('dense()', '', config);
}

function checkDense(where: string, prefix: string, config: unknown): DenseLayer {
  if (!isPlainObject(config)) throw invalid(where, prefix ? prefix.slice(0, -1) : 'config', 'an object such as { units: 8 }', config);
  checkKeys(where, prefix ? prefix.slice(0, -1) : 'config', config, DENSE_KEYS);
  if (config.type !== undefined && config.type !== 'dense') throw invalid(where, `${prefix}type`, "'dense'", config.type);
  const { units, activation = 'linear', alpha = DEFAULT_ALPHA, inputShape, kernelInitializer } = config;
  if (!isPositiveInteger(units)) throw invalid(where, `${prefix}units`, 'a positive integer', units);
  if (typeof activation !== 'string' || !(ACTIVATION_NAMES as string[]).includes(activation)) {
    throw invalid(where, `${prefix}activation`, `one of ${ACTIVATION_NAMES.join(', ')}`, activation);
  }
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw invalid(where, `${prefix}alpha`, 'a finite number', alpha);
  if (inputShape !== undefined && !(Array.isArray(inputShape) && inputShape.length === 1 && isPositiveInteger(inputShape[0]))) {
    throw invalid(where, `${prefix}inputShape`, 'a one-element array [features] with a positive integer', inputShape);
  }
  const act = activation as ActivationName;
  const init = kernelInitializer ?? (HE_NORMAL_DEFAULT.includes(act) ? 'heNormal' : 'glorotUniform');
  if (typeof init !== 'string' || !(KERNEL_INITIALIZERS as string[]).includes(init)) {
    throw invalid(where, `${prefix}kernelInitializer`, `one of ${KERNEL_INITIALIZERS.join(', ')}`, init);
  }
  const regularizer = checkRegularizer(where, `${prefix}kernelRegularizer`, config.kernelRegularizer);
  const layer: DenseLayer = {
    type: 'dense',
    units,
    activation: act,
    alpha,
    ...(inputShape === undefined ? {} : { inputShape: Object.freeze([inputShape[0]]) as readonly [number] }),
    kernelInitializer: init as KernelInitializer,
    ...(regularizer === undefined ? {} : { kernelRegularizer: regularizer }),
  };
  return Object.freeze(layer);
}

function checkRegularizer(where: string, arg: string, value: unknown): Readonly<Required<KernelRegularizer>> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) throw invalid(where, arg, 'an object such as { l2: 0.01 }', value);
  checkKeys(where, arg, value, ['l1', 'l2']);
  const { l1 = 0, l2 = 0 } = value;
  for (const [key, v] of [['l1', l1], ['l2', l2]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalid(where, `${arg}.${key}`, 'a finite number ≥ 0', v);
  }
  return Object.freeze({ l1: l1 as number, l2: l2 as number });
}

/** Inverted dropout after the layer before it, in training only (Keras' Dropout). */
export interface DropoutConfig {
  /** The fraction of outputs zeroed, in [0, 1). */
  rate: number;
  /** Seeds this layer's masks (an int32); default the model's seed. */
  seed?: number;
}
export interface DropoutLayer {
  readonly type: 'dropout';
  readonly rate: number;
  readonly seed?: number;
}
/** An activation as a layer of its own (Keras' Activation): it sets the activation of the linear dense layer before it. */
export interface ActivationConfig {
  activation: ActivationName;
  /** leakyRelu's negative slope; default 0.01. */
  alpha?: number;
}
export interface ActivationLayer {
  readonly type: 'activation';
  readonly activation: ActivationName;
  readonly alpha: number;
}
/** Any layer's config with its defaults filled in (what `model.layers` holds). */
export type Layer = DenseLayer | DropoutLayer | ActivationLayer;
/** What sequential() takes: layers made by dense(), dropout(), activation(), or dense configs. */
export type LayerConfig = Layer | DenseConfig;

/** Inverted dropout: in training, each output of the layer before is zeroed with probability rate, the others scaled by 1/(1 − rate). */
export function dropout(config: DropoutConfig): DropoutLayer {
  return checkDropout('dropout()', '', config);
}

/** An activation layer, folded into the linear dense layer before it. */
export function activation(config: ActivationConfig): ActivationLayer {
  return checkActivationLayer('activation()', '', config);
}

function checkDropout(where: string, prefix: string, config: unknown): DropoutLayer {
  const arg = prefix ? prefix.slice(0, -1) : 'config';
  if (!isPlainObject(config)) throw invalid(where, arg, 'an object such as { rate: 0.2 }', config);
  checkKeys(where, arg, config, ['type', 'rate', 'seed']);
  const { rate, seed } = config;
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) throw invalid(where, `${prefix}rate`, 'a number in [0, 1)', rate);
  if (seed !== undefined && !(Number.isSafeInteger(seed) && (seed as number) >= -(2 ** 31) && (seed as number) < 2 ** 31)) {
    throw invalid(where, `${prefix}seed`, 'an int32', seed);
  }
  return Object.freeze({ type: 'dropout', rate, ...(seed === undefined ? {} : { seed: seed as number }) });
}

function checkActivationLayer(where: string, prefix: string, config: unknown): ActivationLayer {
  const arg = prefix ? prefix.slice(0, -1) : 'config';
  if (!isPlainObject(config)) throw invalid(where, arg, "an object such as { activation: 'relu' }", config);
  checkKeys(where, arg, config, ['type', 'activation', 'alpha']);
  const { activation: act, alpha = DEFAULT_ALPHA } = config;
  if (typeof act !== 'string' || !(ACTIVATION_NAMES as string[]).includes(act)) {
    throw invalid(where, `${prefix}activation`, `one of ${ACTIVATION_NAMES.join(', ')}`, act);
  }
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw invalid(where, `${prefix}alpha`, 'a finite number', alpha);
  return Object.freeze({ type: 'activation', activation: act as ActivationName, alpha });
}

function checkLayer(where: string, prefix: string, config: unknown): Layer {
  const type = isPlainObject(config) ? config.type : undefined;
  if (type === 'dropout') return checkDropout(where, prefix, config);
  if (type === 'activation') return checkActivationLayer(where, prefix, config);
  if (type !== undefined && type !== 'dense') throw invalid(where, `${prefix}type`, "'dense', 'dropout' or 'activation'", type);
  return checkDense(where, prefix, config);
}

/** A spec under construction: a dense layer and what the layers after it fold into it. */
type SpecDraft = Omit<LayerSpec, 'dropout' | 'dropoutSeed'> & { dropout: number; dropoutSeed: number | null };

/**
 * Checks a whole stack: each layer valid, a dense first layer with an input width, later input
 * widths (if given) equal to the previous layer's units, no all-zero kernel on a hidden layer; an
 * activation layer follows a linear dense layer, a dropout layer a dense (or activation) layer and
 * precedes another dense layer. Each dense layer becomes one spec, with what follows folded in.
 */
export function resolveLayers(where: string, layers: unknown): { layers: Layer[]; specs: LayerSpec[] } {
  if (!Array.isArray(layers) || layers.length === 0) {
    throw invalid(where, 'layers', 'a non-empty array of dense({ units, ... }) layers', layers);
  }
  const resolved = layers.map((layer, i) => checkLayer(where, `layers[${i}].`, layer));
  const first = resolved[0];
  if (first.type !== 'dense') throw new SimdnetError('layers[0]', `${where}: layers[0] must be a dense layer, got a ${first.type} layer`);
  if (first.inputShape === undefined) {
    throw new SimdnetError(
      'layers[0].inputShape',
      `${where}: layers[0].inputShape must give the number of input features, e.g. inputShape: [2], got undefined`,
    );
  }
  const drafts: SpecDraft[] = [];
  const denseIndex: number[] = [];
  let inputUnits = first.inputShape[0];
  resolved.forEach((layer, i) => {
    const last = drafts.at(-1);
    if (layer.type === 'dense') {
      if (i > 0 && layer.inputShape !== undefined && layer.inputShape[0] !== inputUnits) {
        throw invalid(where, `layers[${i}].inputShape`, `[${inputUnits}] (the units of the dense layer before) or omitted`, `[${layer.inputShape[0]}]`);
      }
      drafts.push(draftOf(layer, inputUnits));
      denseIndex.push(i);
      inputUnits = layer.units;
    } else if (layer.type === 'activation') {
      if (last === undefined || last.activation !== 'linear' || last.dropout > 0) {
        throw new SimdnetError(`layers[${i}]`, `${where}: layers[${i}], an activation layer, must follow a dense layer with a linear activation (and no dropout in between)`);
      }
      Object.assign(last, { activation: layer.activation, code: ACTIVATION[layer.activation], alpha: layer.alpha });
    } else {
      if (last === undefined || last.dropout > 0 || i === resolved.length - 1) {
        throw new SimdnetError(`layers[${i}]`, `${where}: layers[${i}], a dropout layer, must come after a dense layer and before another one`);
      }
      last.dropout = layer.rate;
      last.dropoutSeed = layer.seed ?? null;
    }
  });
  drafts.forEach((d, l) => {
    if (d.kernelInitializer === 'zeros' && l < drafts.length - 1) {
      const i = denseIndex[l];
      throw new SimdnetError(
        `layers[${i}].kernelInitializer`,
        `${where}: layers[${i}].kernelInitializer must not be 'zeros' on a hidden layer: every unit would ` +
          `start identical, get identical gradients and stay identical (no symmetry breaking); ` +
          `use 'heNormal', 'glorotUniform' or 'smallRandom'`,
      );
    }
  });
  return { layers: resolved, specs: drafts.map((d) => sharedNumbers(d)) };
}

function draftOf(layer: DenseLayer, inputUnits: number): SpecDraft {
  return {
    inputUnits,
    units: layer.units,
    activation: layer.activation,
    code: ACTIVATION[layer.activation],
    alpha: layer.alpha, // passed to kernels at every step
    kernelInitializer: layer.kernelInitializer,
    l1: layer.kernelRegularizer?.l1 ?? 0,
    l2: layer.kernelRegularizer?.l2 ?? 0,
    dropout: 0,
    dropoutSeed: null,
  };
}

/**
 * Writes the layer's initial kernel W [inputUnits × units] into out[offset…]. Drawn in float64
 * from the seeded generator and rounded once on store, so every backend starts from the same bits.
 */
export function initializeKernel(spec: LayerSpec, rng: Random, out: Float32Array, offset: number): void {
  const count = spec.inputUnits * spec.units;
  switch (spec.kernelInitializer) {
    case 'heNormal': {
      // He et al. 2015: variance 2/fan_in keeps relu activations' scale through depth.
      const std = Math.sqrt(2 / spec.inputUnits);
      for (let i = 0; i < count; i++) out[offset + i] = std * rng.normal();
      return;
    }
    case 'glorotUniform': {
      // Glorot & Bengio 2010: U(±√(6/(fan_in + fan_out))) for symmetric, saturating activations.
      const limit = Math.sqrt(6 / (spec.inputUnits + spec.units));
      for (let i = 0; i < count; i++) out[offset + i] = rng.uniform(-limit, limit);
      return;
    }
    case 'smallRandom':
      // Small random values, 0.01·N(0, 1): enough to break the symmetry all-equal weights keep.
      for (let i = 0; i < count; i++) out[offset + i] = 0.01 * rng.normal();
      return;
    case 'zeros':
      out.fill(0, offset, offset + count);
      return;
  }
}
