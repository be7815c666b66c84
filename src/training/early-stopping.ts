/**
 * Early stopping (Keras' EarlyStopping): stop once the monitored metric has not improved for
 * `patience` epochs, and optionally put back the weights of the best epoch. The best weights are
 * kept in backend memory (one copy kernel per improvement), never copied out to the JS heap.
 */
import type { Ptr } from '../backend/backend.js';
import { checkKeys, describeValue, invalid, isPlainObject, SimdnetError } from '../errors.js';
import type { Logs } from './logs.js';
import { checkMinDelta, checkMonitor, Monitor, type LoggedMetrics, type MonitorName } from './monitor.js';
import type { Network } from '../network.js';

export interface EarlyStoppingOptions {
  /** The metric to watch; default 'val_loss'. */
  monitor?: MonitorName;
  /** Epochs without improvement before training stops; default 0 (stop at the first one). */
  patience?: number;
  /** The least change that counts as an improvement; default 0. */
  minDelta?: number;
  /** At the end of fit, put back the weights of the best epoch; default false. */
  restoreBestWeights?: boolean;
}

export type EarlyStoppingConfig = Required<EarlyStoppingOptions>;

export function parseEarlyStopping(where: string, value: unknown, logged: LoggedMetrics): EarlyStoppingConfig {
  const arg = 'earlyStopping';
  if (!isPlainObject(value)) throw invalid(where, arg, "an object such as { monitor: 'val_loss', patience: 5 }", value);
  checkKeys(where, arg, value, ['monitor', 'patience', 'minDelta', 'restoreBestWeights']);
  const { monitor = 'val_loss', patience = 0, minDelta = 0, restoreBestWeights = false } = value;
  if (typeof patience !== 'number' || !Number.isSafeInteger(patience) || patience < 0) {
    throw new SimdnetError(`${arg}.patience`, `${where}: ${arg}.patience must be an integer ≥ 0, got ${describeValue(patience)}`);
  }
  if (typeof restoreBestWeights !== 'boolean') throw invalid(where, `${arg}.restoreBestWeights`, 'true or false', restoreBestWeights);
  return {
    monitor: checkMonitor(where, `${arg}.monitor`, monitor, logged),
    patience,
    minDelta: checkMinDelta(where, `${arg}.minDelta`, minDelta),
    restoreBestWeights,
  };
}

export class EarlyStopping {
  readonly #monitor: Monitor;
  readonly #patience: number;
  readonly #net: Network;
  /** A params-sized region holding the best epoch's weights (0 when not restoring). */
  readonly #best: Ptr;
  #saved = false;
  #wait = 0;

  /** Allocates in the backend: construct it inside fit's per-call region. */
  constructor(config: EarlyStoppingConfig, net: Network) {
    this.#monitor = new Monitor(config.monitor, config.minDelta);
    this.#patience = config.patience;
    this.#net = net;
    this.#best = config.restoreBestWeights ? net.backend.alloc(net.mem.layout.partFloats) : 0;
  }

  /** Called after each epoch; true when training should stop. */
  shouldStop(logs: Logs): boolean {
    if (this.#monitor.update(logs)) {
      this.#wait = 0;
      if (this.#best !== 0) {
        const { backend, mem } = this.#net;
        backend.copy(mem.params, this.#best, mem.layout.partFloats);
        this.#saved = true;
      }
      return false;
    }
    this.#wait += 1;
    // Keras counts patience 0 and 1 alike: stop at the first epoch that does not improve.
    return this.#wait >= Math.max(this.#patience, 1);
  }

  /** Puts back the best epoch's weights, if asked for and if any epoch improved. */
  restoreBest(): void {
    if (!this.#saved) return;
    const { backend, mem } = this.#net;
    backend.copy(this.#best, mem.params, mem.layout.partFloats);
  }
}
