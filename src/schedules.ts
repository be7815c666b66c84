/**
 * Learning-rate schedules, as Keras' (keras.optimizers.schedules): a function of the optimizer's
 * step count (Keras' `iterations`, 0 at the first update) that an optimizer's `learningRate` may be
 * instead of a number. The step count is saved with the model, so a loaded model resumes its
 * schedule where it was.
 */
import { checkKeys, describeValue, invalid, isPlainObject, SimdnetError } from './errors.js';
import { sharedNumbers } from './scalars.js';

/** lr₀·rate^(step/decaySteps), with the exponent floored when `staircase`. */
export interface ExponentialDecay {
  type: 'exponentialDecay';
  initialLearningRate: number;
  decaySteps: number;
  decayRate: number;
  /** Default false. */
  staircase?: boolean;
}

/** values[0] up to and including step boundaries[0], values[1] up to boundaries[1], …, values[n] after. */
export interface PiecewiseConstantDecay {
  type: 'piecewiseConstant';
  boundaries: readonly number[];
  values: readonly number[];
}

/**
 * Linear warmup from initialLearningRate to warmupTarget over warmupSteps (none by default), then
 * cosine decay over decaySteps from the peak (warmupTarget, or initialLearningRate without warmup)
 * down to alpha·peak: peak·((1 − α)·½(1 + cos(π·min(s, decaySteps)/decaySteps)) + α), s the steps
 * since the warmup.
 */
export interface CosineDecay {
  type: 'cosineDecay';
  initialLearningRate: number;
  decaySteps: number;
  /** Default 0. */
  alpha?: number;
  /** Default none (null): no warmup. */
  warmupTarget?: number | null;
  /** Default 0. */
  warmupSteps?: number;
}

export type LearningRateSchedule = ExponentialDecay | PiecewiseConstantDecay | CosineDecay;
export type ScheduleName = LearningRateSchedule['type'];
export const SCHEDULE_NAMES: readonly ScheduleName[] = Object.freeze(['exponentialDecay', 'piecewiseConstant', 'cosineDecay']);

/** A schedule with every default filled in (warmupTarget null for no warmup). */
export type Schedule =
  | Required<ExponentialDecay>
  | PiecewiseConstantDecay
  | (Required<Omit<CosineDecay, 'warmupTarget'>> & { warmupTarget: number | null });

/** The learning rate of the update at `step` (0 for the first update). */
export function learningRateAt(s: Schedule, step: number): number {
  switch (s.type) {
    case 'exponentialDecay': {
      const p = step / s.decaySteps;
      return s.initialLearningRate * Math.pow(s.decayRate, s.staircase ? Math.floor(p) : p);
    }
    case 'piecewiseConstant': {
      let i = 0;
      while (i < s.boundaries.length && step > s.boundaries[i]) i++;
      return s.values[i];
    }
    case 'cosineDecay': {
      const warm = s.warmupTarget === null ? 0 : s.warmupSteps;
      if (step < warm) return s.initialLearningRate + ((s.warmupTarget! - s.initialLearningRate) * step) / warm;
      const peak = s.warmupTarget ?? s.initialLearningRate;
      const t = Math.min(step - warm, s.decaySteps) / s.decaySteps;
      return peak * ((1 - s.alpha) * 0.5 * (1 + Math.cos(Math.PI * t)) + s.alpha);
    }
  }
}

const KEYS: Record<ScheduleName, string[]> = {
  exponentialDecay: ['type', 'initialLearningRate', 'decaySteps', 'decayRate', 'staircase'],
  piecewiseConstant: ['type', 'boundaries', 'values'],
  cosineDecay: ['type', 'initialLearningRate', 'decaySteps', 'alpha', 'warmupTarget', 'warmupSteps'],
};

/** Checks a schedule config (argument `arg`, e.g. 'optimizer.learningRate') and fills in its defaults. */
export function parseSchedule(where: string, arg: string, value: unknown): Schedule {
  if (!isPlainObject(value) || typeof value.type !== 'string' || !Object.hasOwn(KEYS, value.type)) {
    throw invalid(where, arg, `a positive number or a schedule { type: ${SCHEDULE_NAMES.map((n) => `'${n}'`).join(' | ')}, … }`, value);
  }
  const type = value.type as ScheduleName;
  checkKeys(where, arg, value, KEYS[type]);
  const positive = (key: string, v: unknown = value[key]): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw invalid(where, `${arg}.${key}`, 'a positive number', v);
    return v;
  };
  const steps = (key: string, v: unknown = value[key]): number => {
    if (!Number.isSafeInteger(v) || (v as number) < 1) throw invalid(where, `${arg}.${key}`, 'a positive integer', v);
    return v as number;
  };
  switch (type) {
    case 'exponentialDecay': {
      const staircase = value.staircase ?? false;
      if (typeof staircase !== 'boolean') throw invalid(where, `${arg}.staircase`, 'true or false', staircase);
      return sharedNumbers({
        type, initialLearningRate: positive('initialLearningRate'), decaySteps: steps('decaySteps'),
        decayRate: positive('decayRate'), staircase,
      });
    }
    case 'piecewiseConstant':
      return parsePiecewise(where, arg, value.boundaries, value.values);
    case 'cosineDecay': {
      const alpha = value.alpha ?? 0;
      if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) throw invalid(where, `${arg}.alpha`, 'a number in [0, 1]', alpha);
      const warmupTarget = value.warmupTarget ?? null;
      const warmupSteps = value.warmupSteps ?? 0;
      if (!Number.isSafeInteger(warmupSteps) || (warmupSteps as number) < 0) throw invalid(where, `${arg}.warmupSteps`, 'an integer ≥ 0', warmupSteps);
      // A warmup may start from 0.
      const initial = value.initialLearningRate;
      const initialLearningRate = warmupTarget !== null && initial === 0 ? 0 : positive('initialLearningRate');
      return sharedNumbers({
        type, initialLearningRate, decaySteps: steps('decaySteps'), alpha,
        warmupTarget: warmupTarget === null ? null : positive('warmupTarget', warmupTarget), warmupSteps: warmupSteps as number,
      });
    }
  }
}

function parsePiecewise(where: string, arg: string, boundaries: unknown, values: unknown): PiecewiseConstantDecay {
  if (!Array.isArray(boundaries) || !boundaries.every((b, i) => Number.isSafeInteger(b) && b >= 0 && (i === 0 || b > (boundaries[i - 1] as number)))) {
    throw invalid(where, `${arg}.boundaries`, 'an increasing array of step counts (integers ≥ 0)', boundaries);
  }
  if (!Array.isArray(values) || values.length !== boundaries.length + 1 || !values.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0)) {
    throw new SimdnetError(
      `${arg}.values`,
      `${where}: ${arg}.values must be ${boundaries.length + 1} positive numbers (one more than the boundaries), got ${describeValue(values)}`,
    );
  }
  return { type: 'piecewiseConstant', boundaries: [...boundaries as number[]], values: [...values as number[]] };
}
