/**
 * Layers: the public configs (`dense()`, `dropout()`, `activation()`, `batchNormalization()`),
 * their validation, the resolved per-dense-layer spec the model runs on (the layers after a dense
 * layer folded into it), and the weight initialisers.
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
  /**
   * A batchNormalization layer after this one: 'pre' normalises Z, before the activation (a linear
   * dense layer, the batch normalization, then an activation layer, or none); 'post' normalises the
   * activation A; 'none' without one. Its settings follow (their defaults when 'none').
   */
  readonly norm: NormPosition;
  readonly normMomentum: number;
  readonly normEpsilon: number;
  /** Whether β (center) and γ (scale) are trainable; when not, they stay 0 and 1. */
  readonly normCenter: boolean;
  readonly normScale: boolean;
}

export type NormPosition = 'none' | 'pre' | 'post';

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
/** Keras' BatchNormalization after a dense layer (or its activation), over the units. */
export interface BatchNormalizationConfig {
  /** The moving statistics' momentum, in [0, 1]: moving ← moving·momentum + batch·(1 − momentum). Default 0.99. */
  momentum?: number;
  /** Added to the variance before its square root, > 0. Default 0.001. */
  epsilon?: number;
  /** Learn the offset β (else β = 0). Default true. */
  center?: boolean;
  /** Learn the scale γ (else γ = 1). Default true. */
  scale?: boolean;
  /** The axis normalised over the rows: only the last, -1 (or 1), the units. */
  axis?: number;
}
export interface BatchNormalizationLayer {
  readonly type: 'batchNormalization';
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
}
/** Any layer's config with its defaults filled in (what `model.layers` holds). */
export type Layer = DenseLayer | DropoutLayer | ActivationLayer | BatchNormalizationLayer;
/** What sequential() takes: layers made by dense(), dropout(), activation(), batchNormalization(), or dense configs. */
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

/**
 * Batch normalization (Keras' and TF.js' BatchNormalization): in training, each unit of the layer
 * before is normalised with the batch's mean and biased variance, y = γ·(x − μ)/√(σ² + ε) + β; in
 * inference with the moving mean and variance, which training keeps as moving averages.
 */
export function batchNormalization(config: BatchNormalizationConfig = {}): BatchNormalizationLayer {
  return checkBatchNorm('batchNormalization()', '', config);
}

const NORM_KEYS = ['type', 'momentum', 'epsilon', 'center', 'scale', 'axis'];

function checkBatchNorm(where: string, prefix: string, config: unknown): BatchNormalizationLayer {
  const arg = prefix ? prefix.slice(0, -1) : 'config';
  if (!isPlainObject(config)) throw invalid(where, arg, 'an object such as { momentum: 0.99 }', config);
  checkKeys(where, arg, config, NORM_KEYS);
  const { momentum = 0.99, epsilon = 0.001, center = true, scale = true, axis = -1 } = config;
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) throw invalid(where, `${prefix}momentum`, 'a number in [0, 1]', momentum);
  if (typeof epsilon !== 'number' || !(epsilon > 0 && Number.isFinite(epsilon))) throw invalid(where, `${prefix}epsilon`, 'a finite number > 0', epsilon);
  if (typeof center !== 'boolean') throw invalid(where, `${prefix}center`, 'true or false', center);
  if (typeof scale !== 'boolean') throw invalid(where, `${prefix}scale`, 'true or false', scale);
  if (axis !== -1 && axis !== 1) throw invalid(where, `${prefix}axis`, '-1 (or 1): the units, the last axis of [batch, units]', axis);
  return Object.freeze({ type: 'batchNormalization', momentum, epsilon, center, scale });
}

function checkLayer(where: string, prefix: string, config: unknown): Layer {
  const type = isPlainObject(config) ? config.type : undefined;
  if (type === 'dropout') return checkDropout(where, prefix, config);
  if (type === 'activation') return checkActivationLayer(where, prefix, config);
  if (type === 'batchNormalization') return checkBatchNorm(where, prefix, config);
  if (type !== undefined && type !== 'dense') {
    throw invalid(where, `${prefix}type`, "'dense', 'dropout', 'activation' or 'batchNormalization'", type);
  }
  return checkDense(where, prefix, config);
}

/** A spec under construction: a dense layer and what the layers after it fold into it. */
type SpecDraft = { -readonly [K in keyof LayerSpec]: LayerSpec[K] };

/** Where each dense layer came from in the list: its index, and whether an activation layer set its activation. */
interface DraftOrigin {
  dense: number;
  activationLayer: boolean;
  norm: number;
}

/**
 * Checks a whole stack: each layer valid, a dense first layer with an input width, later input
 * widths (if given) equal to the previous layer's units, no all-zero kernel on a hidden layer; an
 * activation layer follows a linear dense layer (or its batch normalization), a dropout layer a
 * dense layer (or what folds into it) and precedes another dense layer; a batch normalization
 * follows a dense layer or its activation, before any dropout, and not after the output layer's
 * activation. Each dense layer becomes one spec, with what follows folded in.
 */
export function resolveLayers(where: string, layers: unknown): { layers: Layer[]; specs: LayerSpec[] } {
  if (!Array.isArray(layers) || layers.length === 0) {
    throw invalid(where, 'layers', 'a non-empty array of dense({ units, ... }) layers', layers);
  }
  const resolved = layers.map((layer, i) => checkLayer(where, `layers[${i}].`, layer));
  const first = resolved[0];
  if (first.type !== 'dense') {
    const hint = first.type === 'batchNormalization' ? ' (a batchNormalization layer normalises the outputs of a dense layer before it)' : '';
    throw new SimdnetError('layers[0]', `${where}: layers[0] must be a dense layer, got a ${first.type} layer${hint}`);
  }
  if (first.inputShape === undefined) {
    throw new SimdnetError(
      'layers[0].inputShape',
      `${where}: layers[0].inputShape must give the number of input features, e.g. inputShape: [2], got undefined`,
    );
  }
  const inputWidth = first.inputShape[0];
  const drafts: SpecDraft[] = [];
  const origins: DraftOrigin[] = [];
  resolved.forEach((layer, i) => foldLayer(where, layer, i, i === resolved.length - 1, drafts, origins, inputWidth));
  checkStack(where, drafts, origins);
  return { layers: resolved, specs: drafts.map((d) => sharedNumbers<LayerSpec>(d)) };
}

/** Adds a dense layer's spec, or folds another layer into the last one. */
function foldLayer(
  where: string, layer: Layer, i: number, isLast: boolean, drafts: SpecDraft[], origins: DraftOrigin[], inputWidth: number,
): void {
  const last = drafts.at(-1);
  const origin = origins.at(-1);
  const refuse = (what: string): SimdnetError => new SimdnetError(`layers[${i}]`, `${where}: layers[${i}], ${what}`);
  if (layer.type === 'dense') {
    const inputUnits = last === undefined ? inputWidth : last.units;
    if (i > 0 && layer.inputShape !== undefined && layer.inputShape[0] !== inputUnits) {
      throw invalid(where, `layers[${i}].inputShape`, `[${inputUnits}] (the units of the dense layer before) or omitted`, `[${layer.inputShape[0]}]`);
    }
    drafts.push(draftOf(layer, inputUnits));
    origins.push({ dense: i, activationLayer: false, norm: -1 });
  } else if (last === undefined || origin === undefined) {
    throw refuse(`a ${layer.type} layer, must follow a dense layer`);
  } else if (layer.type === 'activation') {
    if (last.activation !== 'linear' || last.dropout > 0 || last.norm === 'post') {
      throw refuse('an activation layer, must follow a dense layer with a linear activation (or its batch normalization, and no dropout in between)');
    }
    Object.assign(last, { activation: layer.activation, code: ACTIVATION[layer.activation], alpha: layer.alpha });
    origin.activationLayer = true;
  } else if (layer.type === 'batchNormalization') {
    if (last.norm !== 'none' || last.dropout > 0) {
      throw refuse('a batchNormalization layer, must come right after a dense layer or its activation: one per dense layer, before any dropout');
    }
    const pre = last.activation === 'linear' && !origin.activationLayer;
    Object.assign(last, {
      norm: pre ? 'pre' : 'post', normMomentum: layer.momentum, normEpsilon: layer.epsilon, normCenter: layer.center, normScale: layer.scale,
    });
    origin.norm = i;
  } else {
    if (last.dropout > 0 || isLast) throw refuse('a dropout layer, must come after a dense layer and before another one');
    last.dropout = layer.rate;
    last.dropoutSeed = layer.seed ?? null;
  }
}

/** What only the whole stack shows: no all-zero kernel on a hidden layer, no batch normalization after the output's activation. */
function checkStack(where: string, drafts: readonly SpecDraft[], origins: readonly DraftOrigin[]): void {
  drafts.forEach((d, l) => {
    const i = origins[l].dense;
    if (d.kernelInitializer === 'zeros' && l < drafts.length - 1) {
      throw new SimdnetError(
        `layers[${i}].kernelInitializer`,
        `${where}: layers[${i}].kernelInitializer must not be 'zeros' on a hidden layer: every unit would ` +
          `start identical, get identical gradients and stay identical (no symmetry breaking); ` +
          `use 'heNormal', 'glorotUniform' or 'smallRandom'`,
      );
    }
  });
  const out = drafts[drafts.length - 1];
  if (out.norm === 'post') {
    const i = origins[origins.length - 1].norm;
    throw new SimdnetError(
      `layers[${i}]`,
      `${where}: layers[${i}], a batchNormalization layer after the output layer's ${out.activation} activation, is not supported: ` +
        'the loss reads the output activation; put it before the activation (a linear dense layer, then batchNormalization, then activation())',
    );
  }
}

/** Per layer, the weights its batch normalization adds to the model (0 without one): γ, β when learned, the moving mean and variance. */
export function normWeights(specs: readonly LayerSpec[]): number[] {
  return specs.map((s) => (s.norm === 'none' ? 0 : s.units * (2 + (s.normScale ? 1 : 0) + (s.normCenter ? 1 : 0))));
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
    norm: 'none',
    normMomentum: 0.99,
    normEpsilon: 0.001,
    normCenter: true,
    normScale: true,
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
