/**
 * What fit reports: the logs passed to callbacks, the callbacks themselves, and the history fit
 * returns. A leaf of training/, so monitors, early stopping and checkpoints can read logs without
 * importing the fit loop.
 */

/** Passed to callbacks. Batch logs hold the batch's own loss (and accuracy); epoch logs the epoch's mean. */
export interface Logs {
  loss: number;
  acc?: number;
  val_loss?: number;
  val_acc?: number;
  samplesPerSec?: number;
  /** Epoch logs: the learning rate of the epoch's last update. */
  lr?: number;
}

export interface Callbacks {
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  /** `logs` is one object reused for every batch: copy what you keep. */
  onBatchEnd?(batch: number, logs: Logs): void | Promise<void>;
}

export interface History {
  /** Epoch numbers, from 0 in each fit call. */
  epoch: number[];
  history: { loss: number[]; acc?: number[]; val_loss?: number[]; val_acc?: number[]; lr?: number[] };
}

/** The logs passed to onBatchEnd: a class, as steps write them (docs/ARCHITECTURE.md, 'Number boxing'). */
export class BatchLogs implements Logs {
  loss = 0;
  declare acc?: number;
}

export function record(history: History, epoch: number, logs: Logs): void {
  const h = history.history;
  history.epoch.push(epoch);
  h.loss.push(logs.loss);
  if (logs.acc !== undefined) (h.acc ??= []).push(logs.acc);
  if (logs.val_loss !== undefined) (h.val_loss ??= []).push(logs.val_loss);
  if (logs.val_acc !== undefined) (h.val_acc ??= []).push(logs.val_acc);
  if (logs.lr !== undefined) (h.lr ??= []).push(logs.lr);
}
