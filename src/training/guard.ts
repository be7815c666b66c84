/**
 * The non-finite guard: when training diverges, fit stops with NonFiniteError naming the epoch and
 * batch, and the model keeps weights that still work, bit for bit, with their optimizer state and step.
 *
 * What it promises: after NonFiniteError the weights and optimizer state are finite, and the
 * weights gave a finite loss on the last batch they were used on (so finite outputs on its rows).
 * - A NaN or infinite gradient, or a finite one whose update overflows a weight or Adam's v
 *   ('gradients', 'weights'): the model is as before that update.
 * - A non-finite loss ('loss'): the weights that produced it are finite, but the update before
 *   made them so large that the outputs overflow (a learning rate of 1e20 does it in one step);
 *   keeping them would leave a model whose predictions are Infinity. So the guard undoes that
 *   update too: the model is as before the update of the previous batch, whose loss was finite.
 *   If no update has run since fit started or a callback replaced the weights, those weights
 *   are what the loss came from, and nothing is undone.
 *
 * How. A NaN or infinite gradient, or a finite one that overflows a weight or Adam's v (g²
 * overflows from |g| > 1.8e19), shows in what the update wrote: sgd moves the weights by a positive
 * multiple of g, momentum and Adam move m. So checking that span (params and the optimizer's state,
 * adjacent in the plan) after an update covers gradients too. To undo a bad update the span must
 * have been copied before it; copying and checking at every step cost 5–6% of a 784-128-64-10
 * step at batch 64 with Adam, 9% of a tiny XOR step. Instead fit saves the span every
 * CHECK_INTERVAL steps, before the last step of each epoch, and after a callback replaced the
 * weights, each time once the batch's loss is known to be finite (computing it changes no weight),
 * so that a save never holds weights whose loss failed; it checks the span at the end of each run
 * of steps and before anything can look at the model (a batch callback, the end of an epoch). The
 * loss is checked at every step, for free. When a check fails, `locate` puts the saved span back
 * and replays the steps since, checking each: the kernels are deterministic, so the replay
 * reproduces the same bits, and it stops right before the first bad update. A non-finite loss in
 * an epoch's first batch goes back to the save before the previous epoch's last step.
 */
import type { Ptr } from '../backend/backend.js';
import { SimdnetError } from '../errors.js';
import { stateSlots, type Optimizer } from '../optimizers.js';
import { applyUpdate, gradientsFinite, type Network } from '../network.js';

/** Steps between saves when nothing observes the model in between; a failure replays at most this many. */
export const CHECK_INTERVAL = 16;

export type NonFiniteQuantity = 'loss' | 'gradients' | 'weights';

/** Thrown by fit when the loss, a gradient, or a weight after an update became NaN or ±Infinity. */
export class NonFiniteError extends SimdnetError {
  /** Epoch and batch (counted from 0, as in callbacks) of the step that was refused. */
  readonly epoch: number;
  readonly batch: number;
  /** 'weights': the gradients were finite but the update overflowed a weight or the optimizer's state. */
  readonly quantity: NonFiniteQuantity;

  constructor(where: string, epoch: number, batch: number, quantity: NonFiniteQuantity, loss: number, undone: 'this' | 'previous' | 'none' = 'this') {
    const what =
      quantity === 'loss' ? `the loss became ${loss}`
      : quantity === 'gradients' ? `a gradient became NaN or infinite (the loss was ${loss})`
      : `the update made a weight or the optimizer's state NaN or infinite from finite gradients (the loss was ${loss})`;
    const kept =
      undone === 'previous' ? 'training stopped and undid the update before that batch, which made the outputs overflow, so the model ' +
        'keeps its last weights that gave a finite loss'
      : undone === 'none' ? 'training stopped; these are the weights fit started with (or a callback set), so the model keeps them'
      : 'training stopped before that update, so the model keeps its last finite weights';
    super(
      'loss',
      `${where}: ${what} in epoch ${epoch}, batch ${batch} (counted from 0); ${kept}. Usual causes: a learning rate too high ` +
        '(try one 10 times smaller), inputs that are not scaled (standardise each feature to mean 0 and ' +
        'standard deviation 1), or regression targets on a very large scale.',
    );
    this.name = 'NonFiniteError';
    this.epoch = epoch;
    this.batch = batch;
    this.quantity = quantity;
  }
}

/**
 * One fit's guard. Allocates its backup in the backend: construct it, or `reset` it for a later fit
 * (a model keeps one guard for all its fits), inside fit's per-call region.
 */
export class WeightGuard {
  #net: Network;
  #optimizer: Optimizer;
  /** Floats from params that an update writes: the weights and the optimizer's state slots. */
  #floats = 0;
  #backup: Ptr = 0;
  #savedStep = 0;
  #savedEpoch = 0;
  #savedBatch = 0;
  /** The step at which the weights were last set from outside (fit's start, setWeights): nothing before it is undone. */
  #barrierStep = 0;

  constructor(net: Network, optimizer: Optimizer) {
    this.#net = net;
    this.#optimizer = optimizer;
    this.reset(net, optimizer);
  }

  /** Readies the guard for a new fit: allocates a new backup (in that fit's region). */
  reset(net: Network, optimizer: Optimizer): void {
    this.#net = net;
    this.#optimizer = optimizer;
    this.#floats = (1 + stateSlots(optimizer)) * net.mem.layout.partFloats;
    this.#backup = net.backend.alloc(this.#floats);
    this.#savedStep = 0;
    this.#savedEpoch = -1;
    this.#savedBatch = 0;
    this.#barrierStep = net.step;
  }

  /** The weights were just replaced from outside (a callback's setWeights): no failure goes back past them. */
  barrier(): void {
    this.#barrierStep = this.#net.step;
  }

  /** Saves the model as it is before the update of the epoch's `batch` (whose loss was finite). */
  save(epoch: number, batch: number): void {
    this.#net.backend.copy(this.#net.mem.params, this.#backup, this.#floats);
    this.#savedStep = this.#net.step;
    this.#savedEpoch = epoch;
    this.#savedBatch = batch;
  }

  /** Whether the weights and optimizer state are all finite (then so were the gradients since the save). */
  finite(): boolean {
    return this.#net.backend.allFinite(this.#net.mem.params, this.#floats) !== 0;
  }

  /**
   * After the loss at `batch` was non-finite, or a check after its update failed: returns the error
   * for the first bad step since the last save, leaving the model as the guard promises (above).
   * `runBatch(b)` must fill the gradients of the epoch's batch b as the epoch did and return its loss.
   */
  locate(where: string, epoch: number, batch: number, runBatch: (b: number) => number): NonFiniteError {
    if (this.#net.step === this.#barrierStep) return new NonFiniteError(where, epoch, batch, 'loss', runBatch(batch), 'none');
    if (this.#savedEpoch !== epoch) {
      // The first batch's loss: the save before the previous epoch's last update is the one to go back to.
      const value = runBatch(batch);
      this.#restore();
      return new NonFiniteError(where, epoch, batch, 'loss', value, 'previous');
    }
    const from = this.#savedBatch;
    this.#restore();
    for (let b = from; b <= batch; b++) {
      const value = runBatch(b);
      if (value - value !== 0) {
        if (b === from) return new NonFiniteError(where, epoch, b, 'loss', value, 'none');
        this.#restore(); // saved before the update of batch b − 1
        return new NonFiniteError(where, epoch, b, 'loss', value, 'previous');
      }
      this.save(epoch, b);
      applyUpdate(this.#net, this.#optimizer);
      if (!this.finite()) {
        this.#restore();
        return new NonFiniteError(where, epoch, b, gradientsFinite(this.#net) ? 'weights' : 'gradients', value);
      }
    }
    throw new Error(`${where}: internal error: replaying batches ${from}–${batch} did not reproduce the non-finite value`);
  }

  /**
   * After the threads stopped during the update of the epoch's `batch` (a part of the parameters
   * may be updated, the rest not): puts the span saved before the run back and replays the steps
   * since on one thread, which computes the same bits, so the model is as it was before `batch`.
   */
  rewind(batch: number, runBatch: (b: number) => number): void {
    this.#restore();
    for (let b = this.#savedBatch; b < batch; b++) {
      runBatch(b);
      applyUpdate(this.#net, this.#optimizer);
    }
  }

  #restore(): void {
    this.#net.backend.copy(this.#backup, this.#net.mem.params, this.#floats);
    this.#net.step = this.#savedStep;
  }
}
