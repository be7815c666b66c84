/**
 * What fit reports: the logs passed to callbacks, the callbacks themselves, and the history fit
 * returns. A leaf of training/, so monitors, early stopping and checkpoints can read logs without
 * importing the fit loop.
 */
import { metricKeys } from '../metrics.js';

/**
 * Passed to callbacks. Batch logs hold the batch's own loss (and metrics); epoch logs the epoch's
 * mean, and with validation data the same on it (`val_…`). A metric is there when compiled with it
 * (metrics.ts): `acc` for accuracy, `mse`, `mae`.
 */
export interface Logs {
  loss: number;
  acc?: number;
  mse?: number;
  mae?: number;
  val_loss?: number;
  val_acc?: number;
  val_mse?: number;
  val_mae?: number;
  samplesPerSec?: number;
  /** Epoch logs: the learning rate of the epoch's last update. */
  lr?: number;
}

export interface Callbacks {
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  /** `logs` is one object reused for every batch: copy what you keep. */
  onBatchEnd?(batch: number, logs: Logs): void | Promise<void>;
}

/** The per-epoch series fit records: every log but samplesPerSec. */
export type HistoryKey = Exclude<keyof Logs, 'samplesPerSec'>;
const HISTORY_KEYS: readonly HistoryKey[] = ['loss', 'acc', 'mse', 'mae', 'val_loss', 'val_acc', 'val_mse', 'val_mae', 'lr'];

export interface History {
  /** Epoch numbers, from 0 in each fit call. */
  epoch: number[];
  history: { loss: number[] } & { [key in Exclude<HistoryKey, 'loss'>]?: number[] };
}

/**
 * The logs passed to onBatchEnd: a class, as steps write them (docs/ARCHITECTURE.md, 'Number
 * boxing'). `withMetrics` gives each metric of the bit set its field, always in the same order.
 */
export class BatchLogs implements Logs {
  loss = 0;
  declare acc?: number;
  declare mse?: number;
  declare mae?: number;

  static withMetrics(bits: number): BatchLogs {
    const logs = new BatchLogs();
    for (const key of metricKeys(bits)) logs[key] = 0;
    return logs;
  }
}

export function record(history: History, epoch: number, logs: Logs): void {
  const h = history.history;
  history.epoch.push(epoch);
  for (const key of HISTORY_KEYS) {
    const value = logs[key];
    if (value !== undefined) (h[key] ??= []).push(value);
  }
}

/** fit's line per epoch with `verbose`, as Keras writes it: "Epoch 3/10 - 0.21s - loss: 0.4315 - acc: 0.8125". */
export function epochLine(epoch: number, epochs: number, seconds: number, logs: Logs): string {
  const parts = [`Epoch ${epoch + 1}/${epochs}`, `${seconds.toFixed(2)}s`];
  for (const key of HISTORY_KEYS) {
    const value = logs[key];
    // A learning rate can be 1e-5: four significant digits, not four decimals.
    if (value !== undefined) parts.push(`${key}: ${key === 'lr' ? value.toPrecision(4) : value.toFixed(4)}`);
  }
  return parts.join(' - ');
}
