/**
 * A metric watched across epochs (Keras' `monitor`): which log it reads, which direction is
 * better, and the best value so far. Early stopping and best-only checkpoints each keep one.
 */
import { describeValue, SimdnetError } from '../errors.js';
import type { Logs } from './logs.js';

export type MonitorName = 'loss' | 'val_loss' | 'acc' | 'val_acc';
export const MONITOR_NAMES: readonly MonitorName[] = ['loss', 'val_loss', 'acc', 'val_acc'];

/** What this fit will log, so that a monitor can be refused before training starts. */
export interface LoggedMetrics {
  validation: boolean;
  accuracy: boolean;
}

export function checkMonitor(where: string, arg: string, value: unknown, logged: LoggedMetrics): MonitorName {
  if (!(MONITOR_NAMES as unknown[]).includes(value)) {
    throw new SimdnetError(arg, `${where}: ${arg} must be one of ${MONITOR_NAMES.join(', ')}, got ${describeValue(value)}`);
  }
  const name = value as MonitorName;
  if (name.startsWith('val_') && !logged.validation) {
    throw new SimdnetError(arg, `${where}: ${arg} '${name}' needs validation data: give fit validationData or validationSplit, or monitor '${name.slice(4)}'`);
  }
  if (name.endsWith('acc') && !logged.accuracy) {
    throw new SimdnetError(arg, `${where}: ${arg} '${name}' needs accuracy: compile with metrics: ['accuracy']`);
  }
  return name;
}

export function checkMinDelta(where: string, arg: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
    throw new SimdnetError(arg, `${where}: ${arg} must be a finite number ≥ 0, got ${describeValue(value)}`);
  }
  return value;
}

export class Monitor {
  readonly name: MonitorName;
  /** Losses improve downwards, accuracies upwards. */
  readonly higherIsBetter: boolean;
  readonly minDelta: number;
  best: number;

  constructor(name: MonitorName, minDelta: number) {
    this.name = name;
    this.higherIsBetter = name.endsWith('acc');
    this.minDelta = minDelta;
    this.best = this.higherIsBetter ? -Infinity : Infinity;
  }

  /**
   * True when this epoch's value beats the best by more than minDelta (Keras' rule); it then
   * becomes the best. A NaN never improves.
   */
  update(logs: Logs): boolean {
    const value = logs[this.name];
    if (value === undefined || Number.isNaN(value)) return false;
    const better = this.higherIsBetter ? value - this.minDelta > this.best : value + this.minDelta < this.best;
    if (better) this.best = value;
    return better;
  }
}
