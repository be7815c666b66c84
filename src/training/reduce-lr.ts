/**
 * Keras' ReduceLROnPlateau: when the monitored metric has not improved for `patience` epochs, the
 * learning rate is multiplied by `factor` (not below `minLr`), then `cooldown` epochs pass before
 * waiting starts again. It lowers the model's constant learning rate (Network.lr), which save()
 * keeps; a learning-rate schedule is refused with it, as Keras does.
 */
import { checkKeys, describeValue, invalid, isPlainObject, SimdnetError } from '../errors.js';
import type { Network } from '../network.js';
import type { Logs } from './logs.js';
import { checkMinDelta, checkMonitor, Monitor, type LoggedMetrics, type MonitorName } from './monitor.js';

export interface ReduceLROnPlateauOptions {
  /** Default 'val_loss'. */
  monitor?: MonitorName;
  /** The learning rate is multiplied by this, in (0, 1); default 0.1. */
  factor?: number;
  /** Epochs without improvement before a reduction; default 10. */
  patience?: number;
  /** The least change that counts as an improvement; default 1e-4. */
  minDelta?: number;
  /** Epochs after a reduction before waiting starts again; default 0. */
  cooldown?: number;
  /** The learning rate is never lowered below this; default 0. */
  minLr?: number;
}

export type ReduceLROnPlateauConfig = Required<ReduceLROnPlateauOptions>;

export function parseReduceLROnPlateau(where: string, value: unknown, logged: LoggedMetrics): ReduceLROnPlateauConfig {
  const arg = 'reduceLROnPlateau';
  if (!isPlainObject(value)) throw invalid(where, arg, "an object such as { monitor: 'val_loss', factor: 0.5, patience: 3 }", value);
  checkKeys(where, arg, value, ['monitor', 'factor', 'patience', 'minDelta', 'cooldown', 'minLr']);
  const { monitor = 'val_loss', factor = 0.1, patience = 10, minDelta = 1e-4, cooldown = 0, minLr = 0 } = value;
  if (typeof factor !== 'number' || !(factor > 0 && factor < 1)) throw invalid(where, `${arg}.factor`, 'a number in (0, 1)', factor);
  for (const [key, v] of [['patience', patience], ['cooldown', cooldown]] as const) {
    if (!Number.isSafeInteger(v) || (v as number) < 0) {
      throw new SimdnetError(`${arg}.${key}`, `${where}: ${arg}.${key} must be an integer ≥ 0, got ${describeValue(v)}`);
    }
  }
  if (typeof minLr !== 'number' || !(minLr >= 0) || minLr === Infinity) throw invalid(where, `${arg}.minLr`, 'a finite number ≥ 0', minLr);
  return {
    monitor: checkMonitor(where, `${arg}.monitor`, monitor, logged),
    factor, patience: patience as number, cooldown: cooldown as number, minLr,
    minDelta: checkMinDelta(where, `${arg}.minDelta`, minDelta),
  };
}

export class ReduceLROnPlateau {
  readonly #config: ReduceLROnPlateauConfig;
  readonly #monitor: Monitor;
  readonly #net: Network;
  #wait = 0;
  #cooldown = 0;

  constructor(config: ReduceLROnPlateauConfig, net: Network) {
    this.#config = config;
    this.#monitor = new Monitor(config.monitor, config.minDelta);
    this.#net = net;
  }

  /** Called after each epoch, with its logs (whose lr is the rate the epoch trained with). */
  afterEpoch(logs: Logs): void {
    if (this.#cooldown > 0) {
      this.#cooldown -= 1;
      this.#wait = 0;
    }
    if (this.#monitor.update(logs)) {
      this.#wait = 0;
      return;
    }
    if (this.#cooldown > 0) return;
    this.#wait += 1;
    if (this.#wait < this.#config.patience) return;
    const { factor, minLr, cooldown } = this.#config;
    if (this.#net.lr > minLr) this.#net.lr = Math.max(this.#net.lr * factor, minLr);
    this.#cooldown = cooldown;
    this.#wait = 0;
  }
}
