/**
 * Checkpoints during fit (Keras' ModelCheckpoint): every N epochs, or only when the monitored
 * metric improves, the model is saved (model.save() bytes, optimizer state included by default)
 * and handed to `onSave`, which may write it anywhere and is awaited before training goes on.
 */
import { checkKeys, describeValue, invalid, isPlainObject, isPositiveInteger, SimdnetError } from '../errors.js';
import type { Logs } from './logs.js';
import { checkMinDelta, checkMonitor, Monitor, type LoggedMetrics, type MonitorName } from './monitor.js';

export interface CheckpointInfo {
  /** The epoch just finished (counted from 0, as in callbacks). */
  epoch: number;
  /** Its logs (a copy). */
  logs: Logs;
}

export interface CheckpointOptions {
  /** Receives each checkpoint: bytes that loadModel() restores. May return a promise. */
  onSave(bytes: Uint8Array<ArrayBuffer>, info: CheckpointInfo): void | Promise<void>;
  /** Consider saving after every N-th epoch (epochs N−1, 2N−1, …); default 1. */
  everyEpochs?: number;
  /** Save only when `monitor` has improved since the last save; default false. */
  saveBestOnly?: boolean;
  /** The metric saveBestOnly watches; default 'val_loss'. */
  monitor?: MonitorName;
  /** The least change that counts as an improvement; default 0. */
  minDelta?: number;
  /** Include optimizer state and step, so training resumes exactly; default true. */
  includeOptimizer?: boolean;
}

const KEYS = ['onSave', 'everyEpochs', 'saveBestOnly', 'monitor', 'minDelta', 'includeOptimizer'];

/** One checkpoint rule as fit runs it. */
export class Checkpoint {
  readonly #onSave: CheckpointOptions['onSave'];
  readonly #every: number;
  readonly #best: Monitor | null;
  readonly includeOptimizer: boolean;

  constructor(options: Required<Pick<CheckpointOptions, 'onSave' | 'everyEpochs' | 'includeOptimizer'>>, best: Monitor | null) {
    this.#onSave = options.onSave;
    this.#every = options.everyEpochs;
    this.includeOptimizer = options.includeOptimizer;
    this.#best = best;
  }

  /** Saves after `epoch` if this rule says so; `save` makes the bytes only when needed. */
  async afterEpoch(epoch: number, logs: Logs, save: (includeOptimizer: boolean) => Uint8Array<ArrayBuffer>): Promise<void> {
    if ((epoch + 1) % this.#every !== 0) return;
    if (this.#best !== null && !this.#best.update(logs)) return;
    await this.#onSave(save(this.includeOptimizer), { epoch, logs: { ...logs } });
  }
}

/** `checkpoint` as fit takes it: one rule or several (e.g. every 10 epochs, and the best). */
export function parseCheckpoints(where: string, value: unknown, logged: LoggedMetrics): Checkpoint[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((item: unknown, i) => {
    const arg = Array.isArray(value) ? `checkpoint[${i}]` : 'checkpoint';
    if (!isPlainObject(item)) throw invalid(where, arg, '{ onSave(bytes, info), everyEpochs?, saveBestOnly? }', item);
    checkKeys(where, arg, item, KEYS);
    const { onSave, everyEpochs = 1, saveBestOnly = false, monitor = 'val_loss', minDelta = 0, includeOptimizer = true } = item;
    if (typeof onSave !== 'function') throw invalid(where, `${arg}.onSave`, 'a function (bytes, info) => void', onSave);
    if (!isPositiveInteger(everyEpochs)) throw invalid(where, `${arg}.everyEpochs`, 'a positive integer', everyEpochs);
    if (typeof saveBestOnly !== 'boolean') throw invalid(where, `${arg}.saveBestOnly`, 'true or false', saveBestOnly);
    if (typeof includeOptimizer !== 'boolean') throw invalid(where, `${arg}.includeOptimizer`, 'true or false', includeOptimizer);
    const delta = checkMinDelta(where, `${arg}.minDelta`, minDelta);
    if (!saveBestOnly && ('monitor' in item || 'minDelta' in item)) {
      throw new SimdnetError(`${arg}.monitor`, `${where}: ${arg}.monitor and minDelta apply only with saveBestOnly: true, got saveBestOnly ${describeValue(saveBestOnly)}`);
    }
    const best = saveBestOnly ? new Monitor(checkMonitor(where, `${arg}.monitor`, monitor, logged), delta) : null;
    return new Checkpoint({ onSave: onSave as CheckpointOptions['onSave'], everyEpochs, includeOptimizer }, best);
  });
}
