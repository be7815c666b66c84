/**
 * The metrics, in one place: the names compile takes (those Keras and TensorFlow.js users type),
 * the key each one logs under (in fit's logs and history, with `val_` for validation data, and in
 * evaluate's result), the monitors early stopping and checkpoints may watch, and the bit set the
 * training step takes.
 *
 *   accuracy, acc                  → acc   share of rows whose prediction is right (countCorrect)
 *   mse, meanSquaredError          → mse   mean over rows and outputs of (a − y)²
 *   mae, meanAbsoluteError         → mae   mean over rows and outputs of |a − y|
 */
import { describeValue, invalid, SimdnetError } from './errors.js';

export const METRIC_NAMES = ['accuracy', 'acc', 'mse', 'meanSquaredError', 'mae', 'meanAbsoluteError'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** What a metric logs under. */
export type MetricKey = 'acc' | 'mse' | 'mae';
export const METRIC_KEYS: readonly MetricKey[] = ['acc', 'mse', 'mae'];

const KEY_OF: Readonly<Record<MetricName, MetricKey>> = {
  accuracy: 'acc', acc: 'acc', mse: 'mse', meanSquaredError: 'mse', mae: 'mae', meanAbsoluteError: 'mae',
};

/**
 * A set of metrics as the training step takes it: an integer, so that fit's loop passes it without
 * boxing (docs/ARCHITECTURE.md, 'Number boxing'). One bit per key.
 */
export const METRIC_BITS: Readonly<Record<MetricKey, number>> = { acc: 1, mse: 2, mae: 4 };
/** The metrics computed from the errors a − y. */
export const ERROR_METRICS = METRIC_BITS.mse | METRIC_BITS.mae;

/** The names in compile's `metrics`, checked one by one; duplicates are kept as given. */
export function checkMetrics(where: string, value: unknown): MetricName[] {
  if (!Array.isArray(value)) throw invalid(where, 'metrics', "an array of metric names such as ['accuracy']", value);
  value.forEach((name: unknown, i) => {
    if (!(METRIC_NAMES as readonly unknown[]).includes(name)) {
      throw new SimdnetError('metrics', `${where}: metrics[${i}] must be one of ${METRIC_NAMES.join(', ')}, got ${describeValue(name)}`);
    }
  });
  return [...(value as MetricName[])];
}

/** The bit set of a list of metric names. */
export function metricBits(names: readonly MetricName[]): number {
  let bits = 0;
  for (const name of names) bits |= METRIC_BITS[KEY_OF[name]];
  return bits;
}

/** The keys of a bit set, in METRIC_KEYS order. */
export function metricKeys(bits: number): MetricKey[] {
  return METRIC_KEYS.filter((key) => (bits & METRIC_BITS[key]) !== 0);
}

/** What early stopping and checkpoints may watch: the loss and each metric, on the training or validation data. */
export type MonitorName = 'loss' | 'val_loss' | MetricKey | `val_${MetricKey}`;
export const MONITOR_NAMES: readonly MonitorName[] = ['loss', 'val_loss', ...METRIC_KEYS.flatMap((k) => [k, `val_${k}` as const])];

/** Accuracy improves upwards; losses and errors downwards. */
export function higherIsBetter(monitor: MonitorName): boolean {
  return monitor.endsWith('acc');
}

/** The metric a monitor reads (undefined for the loss), and the compile name that asks for it. */
export function monitoredMetric(monitor: MonitorName): { key: MetricKey; name: MetricName } | undefined {
  const key = monitor.startsWith('val_') ? monitor.slice(4) : monitor;
  if (key === 'loss') return undefined;
  return { key: key as MetricKey, name: key === 'acc' ? 'accuracy' : key as MetricName };
}
