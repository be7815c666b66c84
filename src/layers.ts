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
  /** Default heNormal for relu and leakyRelu, glorotUniform otherwise. */
  kernelInitializer?: KernelInitializer;
}

/** A dense layer's config with every default filled in (what `model.layers` holds). */
export interface DenseLayer {
  readonly type: 'dense';
  readonly units: number;
  readonly activation: ActivationName;
  readonly alpha: number;
  readonly inputShape?: readonly [number];
  readonly kernelInitializer: KernelInitializer;
}

/** What the model runs on: a layer with its input width known and its activation as a kernel code. */
export interface LayerSpec {
  readonly inputUnits: number;
  readonly units: number;
  readonly activation: ActivationName;
  readonly code: ActivationCode;
  readonly alpha: number;
  readonly kernelInitializer: KernelInitializer;
}

const DENSE_KEYS = ['type', 'units', 'activation', 'alpha', 'inputShape', 'kernelInitializer'];
const DEFAULT_ALPHA = 0.01;

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
  const init = kernelInitializer ?? (act === 'relu' || act === 'leakyRelu' ? 'heNormal' : 'glorotUniform');
  if (typeof init !== 'string' || !(KERNEL_INITIALIZERS as string[]).includes(init)) {
    throw invalid(where, `${prefix}kernelInitializer`, `one of ${KERNEL_INITIALIZERS.join(', ')}`, init);
  }
  const layer: DenseLayer = {
    type: 'dense',
    units,
    activation: act,
    alpha,
    ...(inputShape === undefined ? {} : { inputShape: Object.freeze([inputShape[0]]) as readonly [number] }),
    kernelInitializer: init as KernelInitializer,
  };
  return Object.freeze(layer);
}

/**
 * Checks a whole stack: each layer valid, an input width on the first, later input widths (if
 * given) equal to the previous layer's units, and no all-zero kernel on a hidden layer.
 */
export function resolveLayers(where: string, layers: unknown): { layers: DenseLayer[]; specs: LayerSpec[] } {
  if (!Array.isArray(layers) || layers.length === 0) {
    throw invalid(where, 'layers', 'a non-empty array of dense({ units, ... }) layers', layers);
  }
  const resolved = layers.map((layer, i) => checkDense(where, `layers[${i}].`, layer));
  const first = resolved[0];
  if (first.inputShape === undefined) {
    throw new SimdnetError(
      'layers[0].inputShape',
      `${where}: layers[0].inputShape must give the number of input features, e.g. inputShape: [2], got undefined`,
    );
  }
  const specs: LayerSpec[] = [];
  let inputUnits = first.inputShape[0];
  resolved.forEach((layer, i) => {
    if (i > 0 && layer.inputShape !== undefined && layer.inputShape[0] !== inputUnits) {
      throw invalid(where, `layers[${i}].inputShape`, `[${inputUnits}] (the units of layers[${i - 1}]) or omitted`, `[${layer.inputShape[0]}]`);
    }
    if (layer.kernelInitializer === 'zeros' && i < resolved.length - 1) {
      throw new SimdnetError(
        `layers[${i}].kernelInitializer`,
        `${where}: layers[${i}].kernelInitializer must not be 'zeros' on a hidden layer: every unit would ` +
          `start identical, get identical gradients and stay identical (no symmetry breaking); ` +
          `use 'heNormal', 'glorotUniform' or 'smallRandom'`,
      );
    }
    specs.push(sharedNumbers({
      inputUnits,
      units: layer.units,
      activation: layer.activation,
      code: ACTIVATION[layer.activation],
      alpha: layer.alpha, // passed to kernels at every step
      kernelInitializer: layer.kernelInitializer,
    }));
    inputUnits = layer.units;
  });
  return { layers: resolved, specs };
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
