/**
 * Optimizers: config parsing with defaults, how much state each keeps, and the update. Parameters,
 * gradients and state are each one contiguous region (see plan.ts), so one kernel call updates the
 * whole model.
 */
import type { Backend, Ptr } from './backend/backend.js';
import { checkKeys, describeValue, invalid, isPlainObject, SimdnetError } from './errors.js';
import { sharedNumbers } from './scalars.js';
import { parseSchedule, type LearningRateSchedule, type Schedule } from './schedules.js';

/** Gradient clipping, as Keras' optimizers have it (applied before the update, norm first). */
export interface ClipConfig {
  /** Rescale the whole gradient when its global L2 norm exceeds this; default none. */
  clipNorm?: number;
  /** Clamp each gradient value to [−clipValue, clipValue]; default none. */
  clipValue?: number;
}
export interface SgdConfig extends ClipConfig {
  type: 'sgd';
  /** Default 0.01; a number or a schedule (schedules.ts). */
  learningRate?: number | LearningRateSchedule;
  /** L2 penalty added to the gradient as l2·w (not to the reported loss), biases included; default 0. */
  l2?: number;
  /** Classical momentum μ as tf.train.momentum and Keras' SGD: acc ← μ·acc + g, w ← w − lr·acc; default 0 (none). */
  momentum?: number;
  /** Nesterov momentum: w ← w − lr·(g + μ·acc); default false. */
  nesterov?: boolean;
}
export interface MomentumConfig extends ClipConfig {
  type: 'momentum';
  /** Default 0.01; a number or a schedule (schedules.ts). */
  learningRate?: number | LearningRateSchedule;
  /** Default 0.9. */
  beta?: number;
  l2?: number;
}
export interface AdamConfig extends ClipConfig {
  type: 'adam';
  /** Default 0.001; a number or a schedule (schedules.ts). */
  learningRate?: number | LearningRateSchedule;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-7 (as TensorFlow.js). */
  epsilon?: number;
  l2?: number;
}
export interface AdamwConfig extends ClipConfig {
  type: 'adamw';
  /** Default 0.001; a number or a schedule (schedules.ts). */
  learningRate?: number | LearningRateSchedule;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Decoupled weight decay λ: w ← w − lr·λ·w beside Adam's step, every parameter; default 0.004 (Keras). */
  weightDecay?: number;
}
export interface RmspropConfig extends ClipConfig {
  type: 'rmsprop';
  /** Default 0.001; a number or a schedule (schedules.ts). */
  learningRate?: number | LearningRateSchedule;
  /** Decay of the mean square; default 0.9. */
  rho?: number;
  /** Default 0 (none). */
  momentum?: number;
  /** Default 1e-7. */
  epsilon?: number;
  /** Divide by the centered second moment, ms − mg²; default false. */
  centered?: boolean;
}
export interface AdagradConfig extends ClipConfig {
  type: 'adagrad';
  /** Default 0.001; a number or a schedule (schedules.ts). */
  learningRate?: number | LearningRateSchedule;
  /** Default 0.1 (as TensorFlow.js and Keras). */
  initialAccumulatorValue?: number;
  /** Default 1e-7. */
  epsilon?: number;
}
export type OptimizerConfig = SgdConfig | MomentumConfig | AdamConfig | AdamwConfig | RmspropConfig | AdagradConfig;
export type OptimizerName = OptimizerConfig['type'];
/**
 * An optimizer config with every default filled in (clipNorm and clipValue 0 for none), its
 * learning rate a number or a checked schedule.
 */
export type Optimizer = { [K in OptimizerName]: Omit<Required<Extract<OptimizerConfig, { type: K }>>, 'learningRate'> & { learningRate: number | Schedule } }[OptimizerName];

const CLIP = { clipNorm: 0, clipValue: 0 };
const DEFAULTS: { [K in OptimizerName]: Required<Extract<OptimizerConfig, { type: K }>> & { learningRate: number } } = {
  sgd: { type: 'sgd', learningRate: 0.01, l2: 0, momentum: 0, nesterov: false, ...CLIP },
  momentum: { type: 'momentum', learningRate: 0.01, beta: 0.9, l2: 0, ...CLIP },
  adam: { type: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, l2: 0, ...CLIP },
  adamw: { type: 'adamw', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0.004, ...CLIP },
  rmsprop: { type: 'rmsprop', learningRate: 0.001, rho: 0.9, momentum: 0, epsilon: 1e-7, centered: false, ...CLIP },
  adagrad: { type: 'adagrad', learningRate: 0.001, initialAccumulatorValue: 0.1, epsilon: 1e-7, ...CLIP },
};
export const OPTIMIZER_NAMES: readonly OptimizerName[] = Object.freeze(Object.keys(DEFAULTS) as OptimizerName[]);
/** Each optimizer's learning rate when its config gives none. */
export const DEFAULT_LEARNING_RATES: Readonly<Record<OptimizerName, number>> = Object.freeze(
  Object.fromEntries(OPTIMIZER_NAMES.map((name) => [name, DEFAULTS[name].learningRate])) as Record<OptimizerName, number>,
);

/** Accepts a name ('adam') or a config ({ type: 'adam', learningRate: 0.01 }). */
export function parseOptimizer(where: string, value: unknown): Optimizer {
  const config = typeof value === 'string' ? { type: value } : value;
  if (!isPlainObject(config)) {
    throw invalid(where, 'optimizer', `one of ${OPTIMIZER_NAMES.join(', ')} or a config such as { type: 'adam', learningRate: 0.01 }`, value);
  }
  const type = config.type;
  if (typeof type !== 'string' || !Object.hasOwn(DEFAULTS, type)) {
    throw invalid(where, 'optimizer.type', `one of ${OPTIMIZER_NAMES.join(', ')}`, type);
  }
  const defaults = DEFAULTS[type as OptimizerName];
  checkKeys(where, 'optimizer', config, Object.keys(defaults));
  const resolved: Record<string, unknown> = { ...defaults };
  for (const [key, given] of Object.entries(config)) {
    if (key === 'type' || given === undefined) continue;
    if (key === 'learningRate' && typeof given === 'object' && given !== null) {
      resolved[key] = parseSchedule(where, 'optimizer.learningRate', given);
      continue;
    }
    if (typeof resolved[key] === 'boolean') {
      if (typeof given !== 'boolean') throw invalid(where, `optimizer.${key}`, 'true or false', given);
    } else if (typeof given !== 'number' || !Number.isFinite(given)) {
      throw invalid(where, `optimizer.${key}`, 'a finite number', given);
    }
    resolved[key] = given;
  }
  const check = (key: string, ok: (v: number) => boolean, expected: string): void => {
    if (key in resolved && typeof resolved[key] === 'number' && !ok(resolved[key])) {
      throw new SimdnetError(`optimizer.${key}`, `${where}: optimizer.${key} must be ${expected}, got ${describeValue(resolved[key])}`);
    }
  };
  check('learningRate', (v) => v > 0, 'a positive number');
  check('l2', (v) => v >= 0, 'a number ≥ 0');
  for (const key of ['beta', 'beta1', 'beta2']) check(key, (v) => v >= 0 && v < 1, 'in [0, 1)');
  check('epsilon', (v) => v > 0, 'a positive number');
  check('momentum', (v) => v >= 0 && v < 1, 'in [0, 1)');
  check('rho', (v) => v >= 0 && v < 1, 'in [0, 1)');
  for (const key of ['weightDecay', 'initialAccumulatorValue', 'clipNorm', 'clipValue']) check(key, (v) => v >= 0, 'a number ≥ 0 (0 for none)');
  if (resolved.nesterov === true && resolved.momentum === 0) {
    throw new SimdnetError('optimizer.nesterov', `${where}: optimizer.nesterov needs a momentum > 0, got momentum 0`);
  }
  return Object.freeze(sharedNumbers(resolved)) as Optimizer;
}

/**
 * Floats of optimizer state per parameter, in the model's slots state0, state1, state2 in this
 * order: sgd none (one, acc, with momentum), momentum one (m), adam and adamw two (m, v), adagrad
 * one (acc), rmsprop ms, then mom with momentum, then mg when centered.
 */
export function stateSlots(optimizer: Optimizer): number {
  switch (optimizer.type) {
    case 'sgd': return optimizer.momentum > 0 ? 1 : 0;
    case 'momentum': case 'adagrad': return 1;
    case 'adam': case 'adamw': return 2;
    case 'rmsprop': return 1 + (optimizer.momentum > 0 ? 1 : 0) + (optimizer.centered ? 1 : 0);
  }
}

/** The value each state slot starts from (compile() fills them): Adagrad's accumulator starts at initialAccumulatorValue. */
export function initialState(optimizer: Optimizer): number {
  return optimizer.type === 'adagrad' ? optimizer.initialAccumulatorValue : 0;
}

/** The state slots that hold running means of squares, which are never negative (a file is checked for it). */
export function nonNegativeSlots(optimizer: Optimizer): number[] {
  switch (optimizer.type) {
    case 'adam': case 'adamw': return [1];
    case 'rmsprop': case 'adagrad': return [0];
    default: return [];
  }
}

/** The model's memory as an update sees it: parameters, gradients, three state slots, a scratch float. */
export interface UpdateMemory {
  readonly params: Ptr;
  readonly grads: Ptr;
  readonly state0: Ptr;
  readonly state1: Ptr;
  readonly state2: Ptr;
  readonly scratch: Ptr;
}

/**
 * Gradient clipping before an update, as Keras: clipNorm rescales the whole gradient by
 * clipNorm/‖g‖ when its global norm ‖g‖ exceeds clipNorm (one reduction pass; a second pass only on
 * steps that clip), then clipValue clamps each value. A non-finite norm is left for the non-finite
 * guard to find.
 */
export function clipGradients(backend: Backend, opt: Optimizer, mem: UpdateMemory, n: number): void {
  if (opt.clipNorm > 0) {
    backend.sumSquares(mem.grads, n, mem.scratch);
    const squared = backend.f32[mem.scratch >> 2];
    if (squared > opt.clipNorm * opt.clipNorm && squared - squared === 0) {
      backend.scaleInPlace(mem.grads, n, opt.clipNorm / Math.sqrt(squared));
    }
  }
  if (opt.clipValue > 0) backend.clampInPlace(mem.grads, n, opt.clipValue);
}

/** One update of all n parameters at step t ≥ 1 (t drives the bias corrections) with learning rate lr. */
export function applyOptimizer(backend: Backend, opt: Optimizer, mem: UpdateMemory, n: number, t: number, lr: number): void {
  const { params, grads, state0, state1, state2 } = mem;
  if (opt.clipNorm > 0 || opt.clipValue > 0) clipGradients(backend, opt, mem, n);
  switch (opt.type) {
    case 'sgd':
      if (opt.momentum > 0) backend.sgdMomentum(params, grads, state0, n, lr, opt.momentum, opt.nesterov, opt.l2);
      else backend.sgd(params, grads, n, lr, opt.l2);
      return;
    case 'momentum':
      backend.momentum(params, grads, state0, n, lr, opt.beta, t, opt.l2);
      return;
    case 'adam':
      backend.adam(params, grads, state0, state1, n, lr, opt.beta1, opt.beta2, opt.epsilon, t, opt.l2);
      return;
    case 'adamw':
      backend.adamw(params, grads, state0, state1, n, lr, opt.beta1, opt.beta2, opt.epsilon, opt.weightDecay, t);
      return;
    case 'rmsprop': {
      const withMomentum = opt.momentum > 0;
      const mg = opt.centered ? (withMomentum ? state2 : state1) : 0;
      backend.rmsprop(params, grads, state0, withMomentum ? state1 : 0, mg, n, lr, opt.rho, opt.epsilon, opt.momentum, opt.centered);
      return;
    }
    case 'adagrad':
      backend.adagrad(params, grads, state0, n, lr, opt.epsilon);
      return;
  }
}
