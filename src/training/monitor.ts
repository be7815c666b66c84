/**
 * A metric watched across epochs (Keras' `monitor`): which log it reads, which direction is
 * better, and the best value so far. Early stopping and best-only checkpoints each keep one.
 */
import { describeValue, SimdnetError } from '../errors.js';
import { higherIsBetter, METRIC_BITS, MONITOR_NAMES, monitoredMetric, type MonitorName } from '../metrics.js';
import type { Logs } from './logs.js';

export { MONITOR_NAMES, type MonitorName };

/** What this fit will log, so that a monitor can be refused before training starts. */
export interface LoggedMetrics {
  validation: boolean;
  /** The compiled metrics, as bits (metrics.ts). */
  metrics: number;
}

export function checkMonitor(where: string, arg: string, value: unknown, logged: LoggedMetrics): MonitorName {
  if (!(MONITOR_NAMES as unknown[]).includes(value)) {
    throw new SimdnetError(arg, `${where}: ${arg} must be one of ${MONITOR_NAMES.join(', ')}, got ${describeValue(value)}`);
  }
  const name = value as MonitorName;
  if (name.startsWith('val_') && !logged.validation) {
    throw new SimdnetError(arg, `${where}: ${arg} '${name}' needs validation data: give fit validationData or validationSplit, or monitor '${name.slice(4)}'`);
  }
  const metric = monitoredMetric(name);
  if (metric !== undefined && (logged.metrics & METRIC_BITS[metric.key]) === 0) {
    throw new SimdnetError(arg, `${where}: ${arg} '${name}' needs the metric: compile with metrics: ['${metric.name}']`);
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
  /** Losses and errors improve downwards, accuracies upwards. */
  readonly higherIsBetter: boolean;
  readonly minDelta: number;
  best: number;

  constructor(name: MonitorName, minDelta: number) {
    this.name = name;
    this.higherIsBetter = higherIsBetter(name);
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
