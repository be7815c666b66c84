/**
 * Optimizers: config parsing with defaults, how much state each keeps, and the update. Parameters,
 * gradients and state are each one contiguous region (see plan.ts), so one kernel call updates the
 * whole model.
 */
import type { Backend, Ptr } from './backend/backend.js';
import { checkKeys, describeValue, invalid, isPlainObject, SimdnetError } from './errors.js';
import { sharedNumbers } from './scalars.js';

export interface SgdConfig {
  type: 'sgd';
  /** Default 0.01. */
  learningRate?: number;
  /** L2 penalty added to the gradient as l2·w (not to the reported loss); default 0. */
  l2?: number;
}
export interface MomentumConfig {
  type: 'momentum';
  /** Default 0.01. */
  learningRate?: number;
  /** Default 0.9. */
  beta?: number;
  l2?: number;
}
export interface AdamConfig {
  type: 'adam';
  /** Default 0.001. */
  learningRate?: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-7 (as TensorFlow.js). */
  epsilon?: number;
  l2?: number;
}
export type OptimizerConfig = SgdConfig | MomentumConfig | AdamConfig;
export type OptimizerName = OptimizerConfig['type'];
/** An optimizer config with every default filled in. */
export type Optimizer = Required<SgdConfig> | Required<MomentumConfig> | Required<AdamConfig>;

const DEFAULTS: { [K in OptimizerName]: Required<Extract<OptimizerConfig, { type: K }>> } = {
  sgd: { type: 'sgd', learningRate: 0.01, l2: 0 },
  momentum: { type: 'momentum', learningRate: 0.01, beta: 0.9, l2: 0 },
  adam: { type: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, l2: 0 },
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
    if (typeof given !== 'number' || !Number.isFinite(given)) throw invalid(where, `optimizer.${key}`, 'a finite number', given);
    resolved[key] = given;
  }
  const check = (key: string, ok: (v: number) => boolean, expected: string): void => {
    if (key in resolved && !ok(resolved[key] as number)) {
      throw new SimdnetError(`optimizer.${key}`, `${where}: optimizer.${key} must be ${expected}, got ${describeValue(resolved[key])}`);
    }
  };
  check('learningRate', (v) => v > 0, 'a positive number');
  check('l2', (v) => v >= 0, 'a number ≥ 0');
  for (const key of ['beta', 'beta1', 'beta2']) check(key, (v) => v >= 0 && v < 1, 'in [0, 1)');
  check('epsilon', (v) => v > 0, 'a positive number');
  return Object.freeze(sharedNumbers(resolved)) as Optimizer;
}

/** Floats of optimizer state per parameter: sgd none, momentum one (m), adam two (m, v). */
export function stateSlots(optimizer: Optimizer): number {
  return optimizer.type === 'sgd' ? 0 : optimizer.type === 'momentum' ? 1 : 2;
}

/** One update of all n parameters at step t ≥ 1 (t drives the bias corrections). */
export function applyOptimizer(
  backend: Backend, opt: Optimizer, params: Ptr, grads: Ptr, state0: Ptr, state1: Ptr, n: number, t: number,
): void {
  switch (opt.type) {
    case 'sgd':
      backend.sgd(params, grads, n, opt.learningRate, opt.l2);
      return;
    case 'momentum':
      backend.momentum(params, grads, state0, n, opt.learningRate, opt.beta, t, opt.l2);
      return;
    case 'adam':
      backend.adam(params, grads, state0, state1, n, opt.learningRate, opt.beta1, opt.beta2, opt.epsilon, t, opt.l2);
      return;
  }
}
